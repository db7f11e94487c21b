#include "lamina/layers/data/csv.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "lamina/core/error.h"

namespace lamina::data {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// Splits `line` at `delim` (no quoting: the cells are numbers).
void split(std::string_view line, char delim, std::vector<std::string_view>& cells) {
  cells.clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = line.find(delim, start);
    if (pos == std::string_view::npos) {
      cells.push_back(trim(line.substr(start)));
      return;
    }
    cells.push_back(trim(line.substr(start, pos - start)));
    start = pos + 1;
  }
}

bool parse_double(std::string_view s, double& out, bool& out_of_range) {
  out_of_range = false;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec == std::errc::result_out_of_range) {
    out_of_range = true;
    return false;
  }
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

CsvData read_csv(const std::string& path, const CsvOptions& opt) {
  std::error_code fec;
  LAMINA_CHECK(!std::filesystem::is_directory(path, fec), IOError, "[read_csv] cannot open '", path,
               "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  LAMINA_CHECK(in.is_open(), IOError, "[read_csv] cannot open '", path, "': ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  LAMINA_CHECK(!in.bad(), IOError, "[read_csv] '", path, "': read error");
  const std::string text = std::move(ss).str();
  LAMINA_CHECK(opt.delimiter != '\n' && opt.delimiter != '\r' && opt.delimiter != '"', ValueError,
               "[read_csv] invalid delimiter for '", path, "'");
  LAMINA_CHECK(opt.label_dtype == DType::int64 || opt.label_dtype == DType::int32 ||
                   opt.label_dtype == DType::float32 || opt.label_dtype == DType::float64,
               ValueError, "[read_csv] label_dtype must be int64, int32, float32 or float64, got ", opt.label_dtype);

  std::string_view rest(text);
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);  // UTF-8 byte order mark

  CsvData result;
  std::vector<std::string_view> cells;
  std::vector<std::string> names;
  std::vector<float> features;
  std::vector<double> labels;
  std::int64_t columns = -1;  // cells per row, fixed by the header or the first row
  std::int64_t label_col = -1;
  std::int64_t rows = 0;
  std::int64_t line_no = 0;
  bool header_pending = opt.header;

  auto resolve_label = [&](std::int64_t ncols, std::int64_t line) {
    if (!opt.has_label) return;
    if (!opt.label_name.empty()) {
      LAMINA_CHECK(opt.header, ValueError, "[read_csv] '", path, "': label_name '", opt.label_name,
                   "' needs a header line (CsvOptions::header is false); use label_index");
      for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == opt.label_name) label_col = static_cast<std::int64_t>(i);
      if (label_col < 0) {
        std::string list;
        for (std::size_t i = 0; i < names.size(); ++i) list += (i ? ", '" : "'") + names[i] + "'";
        LAMINA_CHECK(false, ValueError, "[read_csv] '", path, "' line ", line, ": no column named '", opt.label_name,
                     "' (columns: ", list, ")");
      }
    } else {
      const std::int64_t idx = opt.label_index < 0 ? ncols + opt.label_index : opt.label_index;
      LAMINA_CHECK(idx >= 0 && idx < ncols, ValueError, "[read_csv] '", path, "': label_index ", opt.label_index,
                   " out of range for ", ncols, " columns");
      label_col = idx;
    }
  };

  while (!rest.empty()) {
    std::size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
    split(line, opt.delimiter, cells);
    const auto ncells = static_cast<std::int64_t>(cells.size());

    if (header_pending) {
      header_pending = false;
      for (auto c : cells) names.emplace_back(c);
      columns = ncells;
      resolve_label(columns, line_no);
      continue;
    }
    if (columns < 0) {
      columns = ncells;
      resolve_label(columns, line_no);
    }
    LAMINA_CHECK(ncells == columns, ValueError, "[read_csv] '", path, "' line ", line_no, ": expected ", columns,
                 " cells", opt.header ? " (as in the header)" : " (as in the first row)", ", got ", ncells);
    for (std::int64_t c = 0; c < ncells; ++c) {
      double v = 0;
      bool out_of_range = false;
      if (!parse_double(cells[c], v, out_of_range)) {
        const std::string name = c < static_cast<std::int64_t>(names.size()) ? " ('" + names[c] + "')" : "";
        LAMINA_CHECK(!cells[c].empty(), ValueError, "[read_csv] '", path, "' line ", line_no, ", column ", c + 1, name,
                     ": empty cell");
        LAMINA_CHECK(false, ValueError, "[read_csv] '", path, "' line ", line_no, ", column ", c + 1, name,
                     out_of_range ? ": number out of range '" : ": cannot parse '", cells[c], "' as a number");
      }
      if (c == label_col) {
        if (opt.label_dtype == DType::int64 || opt.label_dtype == DType::int32) {
          const double lim = opt.label_dtype == DType::int64 ? 9.2e18 : 2147483647.0;
          if (!(std::isfinite(v) && v == std::trunc(v) && std::fabs(v) <= lim)) {
            const std::string name = c < static_cast<std::int64_t>(names.size()) ? " ('" + names[c] + "')" : "";
            LAMINA_CHECK(false, ValueError, "[read_csv] '", path, "' line ", line_no, ", column ", c + 1, name,
                         ": label '", cells[c], "' is not an integer that fits ", opt.label_dtype,
                         " (set CsvOptions::label_dtype to float32 for real-valued labels)");
          }
        }
        labels.push_back(v);
      } else {
        features.push_back(static_cast<float>(v));
      }
    }
    ++rows;
  }

  LAMINA_CHECK(line_no > 0 && columns >= 0, ValueError, "[read_csv] '", path, "' is empty");
  LAMINA_CHECK(rows > 0, ValueError, "[read_csv] '", path, "' has a header but no data rows");

  const std::int64_t nfeat = columns - (label_col >= 0 ? 1 : 0);
  result.features = Tensor::from(features, Shape{rows, nfeat});
  if (label_col >= 0) {
    result.labels = Tensor::from(labels, Shape{rows}).to(opt.label_dtype);
  }
  if (!names.empty()) {
    for (std::int64_t c = 0; c < columns; ++c) {
      if (c == label_col) result.label_name = names[c];
      else result.feature_names.push_back(names[c]);
    }
  }
  return result;
}

}  // namespace lamina::data
