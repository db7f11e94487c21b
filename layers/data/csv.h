#pragma once
/// CSV files of numeric columns: features plus one label column.
///
/// Example (iris.csv: "sepal_len,sepal_wid,petal_len,petal_wid,species"):
///   lamina::data::CsvOptions opt;
///   opt.label_name = "species";
///   auto d = lamina::data::read_csv("iris.csv", opt);
///   d.features.shape();  // (150, 4) float32
///   d.labels.shape();    // (150,)   int64

#include <string>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::data {

struct CsvOptions {
  /// The first non-empty line holds column names.
  bool header = true;
  char delimiter = ',';
  /// Label column by name (needs a header). Takes precedence over label_index.
  std::string label_name;
  /// Label column by 0-based index; negative counts from the end (-1: last).
  int label_index = -1;
  /// false: every column is a feature and `labels` stays undefined.
  bool has_label = true;
  /// dtype of the labels: int64 (class indices; a non-integral label is an
  /// error), int32, float32 or float64.
  DType label_dtype = DType::int64;
};

struct CsvData {
  Tensor features;  ///< float32 (N, F)
  Tensor labels;    ///< (N,) of CsvOptions::label_dtype; undefined without a label column
  std::vector<std::string> feature_names;  ///< from the header (empty without one)
  std::string label_name;                  ///< from the header (empty without one)
};

/// Reads a CSV file of numbers. Cells may be surrounded by spaces and, in the
/// header, by double quotes; lines may end in \n or \r\n; blank lines are
/// skipped. Numbers are parsed as C locale doubles (a leading '+', "nan" and
/// "inf" are accepted). Throws
///   IOError    the file cannot be opened or read;
///   ValueError the file has no data rows ("empty"), a row has a different
///              number of cells than the first ("line 7: expected 5 cells, got 4"),
///              a cell is not a number or a label is not integral for an
///              integer label dtype ("line 5, column 3 ('petal_len'): cannot
///              parse 'abc' as a number"), the label column is not found.
/// Messages start with "[read_csv] '<path>'"; lines and columns count from 1.
CsvData read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace lamina::data
