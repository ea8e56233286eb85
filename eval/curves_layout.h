// Geometry of the learning-curve figure: what each panel shows, where its plot area
// lies, how a value maps to a pixel and which ticks an axis gets. Free functions, so
// tests check them with numbers worked out by hand.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "eval/curves.h"

namespace hoverslam::eval {

inline constexpr int kPanelRows = 2, kPanelCols = 3;
inline constexpr int kPanels = kPanelRows * kPanelCols;

enum class XAxis { kEnvSteps, kMinutes };  // both start at 0
enum class YRange {
  kUnit,      // fixed [0, 1]: rates
  kFromZero,  // [0, max]: lag, throughput
  kData,      // [min, max]: returns
};

struct PanelSpec {
  std::string_view title;
  XAxis x;
  YRange y;
  bool si_y;                               // k/M suffixes on y ticks
  std::array<std::string_view, 2> series;  // "" = unused; [0] is drawn on top
};

// Row-major: the top row is success rate and lag, the bottom row return and throughput.
inline constexpr std::array<PanelSpec, kPanels> kPanelSpecs = {{
    {"success rate", XAxis::kEnvSteps, YRange::kUnit, false, {"eval_success", "train_landed"}},
    {"success rate", XAxis::kMinutes, YRange::kUnit, false, {"eval_success", "train_landed"}},
    {"policy lag (versions)", XAxis::kMinutes, YRange::kFromZero, false, {"lag_mean", ""}},
    {"mean return", XAxis::kEnvSteps, YRange::kData, false, {"eval_return", "train_return"}},
    {"mean return", XAxis::kMinutes, YRange::kData, false, {"eval_return", "train_return"}},
    {"throughput (env steps/s)", XAxis::kMinutes, YRange::kFromZero, true, {"steps_per_s", ""}},
}};

struct Rect {
  double x = 0, y = 0, w = 0, h = 0;  // px, y down
  double right() const { return x + w; }
  double bottom() const { return y + h; }
};

// Margins around a plot area: the panel title and legend above, y tick labels to the
// left, x tick labels and the axis name below.
inline constexpr double kMarginLeft = 60, kMarginRight = 16, kMarginTop = 30, kMarginBottom = 44;
// The band above the panels: the figure title's, or a thin edge without one.
inline constexpr double kTitleBand = 40, kNoTitleBand = 10;

// Panel `panel`'s cell (the figure below the title band, cut into kPanelRows x
// kPanelCols, edges on whole pixels) less the margins.
Rect PlotArea(int panel, const PlotConfig& config);

// v in [lo, hi] -> [px_lo, px_hi], linearly; px_lo > px_hi for a y axis (y grows down).
double MapToPixel(double v, double lo, double hi, double px_lo, double px_hi);

// About `intervals` steps of 1, 2 or 5 x 10^k, from the last multiple <= lo to the first
// >= hi; the axis then spans the first to the last tick. hi <= lo is widened first:
// to [0, 1] at 0, else by 10% of |lo| each way.
std::vector<double> NiceTicks(double lo, double hi, int intervals = 5);

// A tick's text with as many decimals as `step` needs, the same on every tick of an
// axis (0.0, 0.2, ..., 1.0); with `si_suffix`, k and M for thousands and millions
// (1500000 at step 500000: "1.5M").
std::string TickLabel(double value, double step, bool si_suffix);

}  // namespace hoverslam::eval
