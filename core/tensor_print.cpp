// NumPy-style printing: uniform column width, nested brackets, and "..."
// summaries for large tensors (first and last 3 entries of each long axis).
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina {

namespace {

constexpr std::int64_t kSummarizeAbove = 1000;
constexpr std::int64_t kEdgeItems = 3;

struct Formatter {
  enum class Style { integral_float, fixed, scientific, integer, boolean } style;

  static Formatter choose(DType dtype, const std::vector<double>& values) {
    if (dtype == DType::bool_) return {Style::boolean};
    if (!is_floating(dtype)) return {Style::integer};
    bool integral = true;
    double max_abs = 0, min_abs = INFINITY;
    for (double v : values) {
      if (!std::isfinite(v)) continue;
      integral = integral && v == std::floor(v);
      double a = std::fabs(v);
      max_abs = std::max(max_abs, a);
      if (a > 0) min_abs = std::min(min_abs, a);
    }
    if (max_abs >= 1e8 || (min_abs < 1e-4 && !integral) || (max_abs >= 1e5 && !integral))
      return {Style::scientific};
    return {integral ? Style::integral_float : Style::fixed};
  }

  std::string operator()(double v) const {
    char buf[64];
    switch (style) {
      case Style::boolean: return v != 0 ? "True" : "False";
      case Style::integer: std::snprintf(buf, sizeof buf, "%.0f", v); break;
      case Style::integral_float:
        if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
        std::snprintf(buf, sizeof buf, "%.0f.", v);
        break;
      case Style::fixed:
        if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
        std::snprintf(buf, sizeof buf, "%.4f", v);
        break;
      case Style::scientific: std::snprintf(buf, sizeof buf, "%.4e", v); break;
    }
    return buf;
  }
};

// Indices printed along an axis of extent n.
std::vector<std::int64_t> shown(std::int64_t n, bool summarize) {
  std::vector<std::int64_t> idx;
  if (summarize && n > 2 * kEdgeItems) {
    for (std::int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
    idx.push_back(-1);  // the "..." marker
    for (std::int64_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
  } else {
    for (std::int64_t i = 0; i < n; ++i) idx.push_back(i);
  }
  return idx;
}

void collect(const Tensor& t, bool summarize, std::vector<double>& out) {
  if (t.ndim() == 0) {
    out.push_back(t.item<double>());
    return;
  }
  for (auto i : shown(t.shape()[0], summarize))
    if (i >= 0) collect(t.select(0, i), summarize, out);
}

void render(std::ostream& os, const Tensor& t, const Formatter& fmt, std::size_t width, bool summarize,
            int indent) {
  if (t.ndim() == 0) {
    std::string s = fmt(t.item<double>());
    os << std::string(width > s.size() ? width - s.size() : 0, ' ') << s;
    return;
  }
  os << '[';
  auto idx = shown(t.shape()[0], summarize);
  for (std::size_t k = 0; k < idx.size(); ++k) {
    if (k > 0) {
      os << ',';
      if (t.ndim() == 1) {
        os << ' ';
      } else {
        os << std::string(static_cast<std::size_t>(t.ndim() - 1), '\n') << std::string(indent + 1, ' ');
      }
    }
    if (idx[k] < 0) {
      os << "...";
      continue;
    }
    render(os, t.select(0, idx[k]), fmt, width, summarize, indent + 1);
  }
  os << ']';
}

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  const bool summarize = numel() > kSummarizeAbove;
  std::vector<double> values;
  // An empty tensor prints no values: walking its leading axes (which may be
  // long, e.g. (1e9, 0)) would only find nothing.
  if (numel() > 0) collect(*this, summarize, values);
  Formatter fmt = Formatter::choose(dtype(), values);
  std::size_t width = 0;
  for (double v : values) width = std::max(width, fmt(v).size());
  std::ostringstream os;
  os << "tensor(";
  if (numel() == 0) {
    os << "[], shape=" << shape();
  } else {
    render(os, *this, fmt, width, summarize, 7);
  }
  os << ", dtype=" << dtype() << ')';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace lamina
