#include "eval/curves_layout.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hoverslam::eval {
namespace {

constexpr bool AllPanelSeriesKnown() {
  for (const PanelSpec& panel : kPanelSpecs) {
    for (std::string_view name : panel.series) {
      if (name.empty()) continue;
      bool known = false;
      for (const SeriesInfo& s : kCurveSeries) known = known || s.name == name;
      if (!known) return false;
    }
  }
  return true;
}
static_assert(AllPanelSeriesKnown(), "kPanelSpecs names a series missing from kCurveSeries");

}  // namespace

Rect PlotArea(int panel, const PlotConfig& config) {
  const double band = config.title.empty() ? kNoTitleBand : kTitleBand;
  const int row = panel / kPanelCols, col = panel % kPanelCols;
  const double cell_w = std::floor(config.width / static_cast<double>(kPanelCols));
  const double cell_h = std::floor((config.height - band) / kPanelRows);
  const double x = col * cell_w, y = band + row * cell_h;
  return Rect{x + kMarginLeft, y + kMarginTop, cell_w - kMarginLeft - kMarginRight,
              cell_h - kMarginTop - kMarginBottom};
}

double MapToPixel(double v, double lo, double hi, double px_lo, double px_hi) {
  return px_lo + (v - lo) / (hi - lo) * (px_hi - px_lo);
}

std::vector<double> NiceTicks(double lo, double hi, int intervals) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 0.0 : 0.1 * std::abs(lo);
    hi = lo == 0 ? 1.0 : lo + pad;
    lo -= pad;
  }
  // Heckbert's rounding of the raw step to 1, 2, 5 or 10 times a power of ten.
  const double raw = (hi - lo) / std::max(intervals, 1);
  int exponent = static_cast<int>(std::floor(std::log10(raw)));
  const double f = raw / std::pow(10.0, exponent);
  int mantissa = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  if (mantissa == 10) {
    mantissa = 1;
    ++exponent;
  }
  // k * mantissa / 10^-e rather than k * (mantissa * 10^e): 3 * 2 / 10 is exactly 0.6,
  // 3 * 0.2 is not.
  const double scale = std::pow(10.0, std::abs(exponent));
  const auto tick = [&](long long k) {
    const double units = static_cast<double>(k) * mantissa;
    return exponent >= 0 ? units * scale : units / scale;
  };
  const double step = exponent >= 0 ? mantissa * scale : mantissa / scale;
  constexpr double kSlack = 1e-9;  // so 0.6 / 0.1 = 5.999... still starts at 6
  const long long first = static_cast<long long>(std::floor(lo / step + kSlack));
  const long long last = static_cast<long long>(std::ceil(hi / step - kSlack));
  std::vector<double> ticks;
  for (long long k = first; k <= last; ++k) ticks.push_back(tick(k));
  return ticks;
}

std::string TickLabel(double value, double step, bool si_suffix) {
  if (value == 0) value = 0;  // -0 prints as 0
  double scale = 1;
  const char* suffix = "";
  if (si_suffix && std::abs(value) >= 1e6) {
    scale = 1e6;
    suffix = "M";
  } else if (si_suffix && std::abs(value) >= 1e3) {
    scale = 1e3;
    suffix = "k";
  }
  const int decimals =
      std::clamp(static_cast<int>(std::ceil(-std::log10(step / scale) - 1e-9)), 0, 9);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value / scale);
  return buf + std::string(suffix);
}

}  // namespace hoverslam::eval
