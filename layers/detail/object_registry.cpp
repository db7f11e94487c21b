#include "lamina/layers/detail/object_registry.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace lamina::detail {

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::vector<std::string> closest_names(std::string_view name, const std::vector<std::string>& known,
                                       std::size_t count) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& k : known) scored.emplace_back(edit_distance(name, k), k);
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && i < count; ++i) out.push_back(scored[i].second);
  return out;
}

std::string unknown_name_message(std::string_view kind, std::string_view name, const std::vector<std::string>& known) {
  std::ostringstream os;
  os << "[" << kind << "] unknown name '" << name << "'";
  auto close = closest_names(name, known);
  if (!close.empty()) {
    os << ". Did you mean: ";
    for (std::size_t i = 0; i < close.size(); ++i) os << (i ? ", " : "") << close[i];
    os << "?";
  }
  os << " Known: ";
  for (std::size_t i = 0; i < known.size(); ++i) os << (i ? ", " : "") << known[i];
  return os.str();
}

}  // namespace lamina::detail
