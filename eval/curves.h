// A training run's learning curves: the curves.csv the local launcher writes, and
// the 2 x 3 grid of plots hoverslam-plot draws from it.
//
// curves.csv, one sample per row, rows in any order (each series is sorted by time):
//
//   elapsed_s,env_steps,series,value      <- header, exactly these columns
//   12.0,491520,steps_per_s,58800
//   20.3,1179648,eval_success,0.0
//
//   elapsed_s  seconds since the run started
//   env_steps  env steps trained on so far
//   series     one of kCurveSeries' names; other names are skipped and reported, so an
//              older plotter still reads a newer file
//   value      the sample, a finite number
//
// Blank lines and a trailing '\r' are allowed; anything else malformed is an error
// naming the file and line.
#pragma once

#include <array>
#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hoverslam::eval {

struct Rgb8 {
  uint8_t r = 0, g = 0, b = 0;
};

// A series a curves.csv may hold, and how it is drawn.
struct SeriesInfo {
  std::string_view name;    // the csv's `series` column
  std::string_view legend;  // legend label where a panel has two series
  Rgb8 color;               // distinct per metric, so a test can find it in the image
  double line_width;        // px; training series are thinner than evaluations
};

inline constexpr std::array<SeriesInfo, 6> kCurveSeries = {{
    {"eval_success", "eval", {31, 119, 180}, 2.5},   // 0..1, held-out evaluation success
    {"eval_return", "eval", {31, 119, 180}, 2.5},    // mean return of that evaluation
    {"train_landed", "train", {250, 160, 90}, 1.5},  // 0..1, training episodes that landed
    {"train_return", "train", {250, 160, 90}, 1.5},  // their mean return
    {"lag_mean", "lag", {148, 103, 189}, 2.0},       // mean policy lag, versions
    {"steps_per_s", "steps/s", {44, 160, 44}, 2.0},  // env steps trained per second
}};

inline constexpr std::string_view kCurvesCsvHeader = "elapsed_s,env_steps,series,value";

// The entry named `name`, or nullptr.
const SeriesInfo* FindSeries(std::string_view name);

struct Sample {
  double elapsed_s = 0;  // seconds since the run started
  double env_steps = 0;  // env steps trained on so far
  double value = 0;
};

// Series name -> its samples, sorted by elapsed_s (file order among equal times).
using Curves = std::map<std::string, std::vector<Sample>>;

// Parses curves.csv text; `name` (the file) prefixes every error. Rows of unknown
// series are counted in *ignored (name -> rows) when given. Throws
// std::runtime_error "name:line: why" on a bad header or row.
Curves ParseCurvesCsv(std::istream& in, const std::string& name,
                      std::map<std::string, int>* ignored = nullptr);

// Opens `path` and parses it; throws std::runtime_error naming the file.
Curves ReadCurvesCsv(const std::string& path, std::map<std::string, int>* ignored = nullptr);

struct PlotConfig {
  int width = 1200;   // image width, px
  int height = 700;   // image height, px
  std::string title;  // drawn above the panels; none when empty
  // Throws std::invalid_argument naming the flag (--width, --height).
  void Validate() const;
};

// Draws the six panels (layout in eval/curves_layout.h) on white and writes a PNG to
// `png_path` via `png_path.tmp` and a rename, so a reader never sees half a file.
// Throws std::runtime_error naming the file on failure (the tmp file is removed).
void RenderCurves(const Curves& curves, const PlotConfig& config, const std::string& png_path);

}  // namespace hoverslam::eval
