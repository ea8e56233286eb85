// RenderCurves: cairo draws the panels kPanelSpecs lists where PlotArea puts them.
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "eval/curves.h"
#include "eval/curves_layout.h"

namespace hoverslam::eval {
namespace {

constexpr Rgb8 kText{0, 0, 0};
constexpr Rgb8 kAxis{60, 60, 60};
constexpr Rgb8 kGrid{225, 225, 225};
constexpr Rgb8 kFaint{140, 140, 140};  // "no data"
constexpr const char* kFont = "DejaVu Sans";
constexpr double kTitleFont = 17, kPanelFont = 13, kTickFont = 11;  // px
constexpr double kTickLen = 4;                                      // px, outside the frame
constexpr double kLabelGap = 6;  // px kept free between neighbouring tick labels
// Px per tick interval: a plot area narrower than 5 of these gets fewer ticks.
constexpr double kMinTickGapX = 60, kMinTickGapY = 45;
// Lines may reach this far past the plot area, so one at exactly 1.0 is drawn whole
// rather than cut in half by the clip.
constexpr double kClipSlack = 3;

using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
using Context = std::unique_ptr<cairo_t, decltype(&cairo_destroy)>;

void SetColor(cairo_t* cr, Rgb8 c) {
  cairo_set_source_rgb(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0);
}

void SetFont(cairo_t* cr, double size, bool bold) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double TextWidth(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t ext;
  cairo_text_extents(cr, text.c_str(), &ext);
  return ext.x_advance;
}

// Draws `text` with its baseline at y; align 0 puts its left end at x, 0.5 its middle,
// 1 its right end.
void ShowText(cairo_t* cr, const std::string& text, double x, double y, double align) {
  cairo_move_to(cr, x - align * TextWidth(cr, text), y);
  cairo_show_text(cr, text.c_str());
}

// The centre of the pixel row or column holding `px`, kept on the frame, so 1 px lines
// are crisp and the last tick does not fall just outside.
double Crisp(double px, double lo, double hi) {
  return std::clamp(std::floor(px) + 0.5, lo + 0.5, hi - 0.5);
}

struct Point {
  double x, y;
};

// One series in a panel's units, sorted by x.
struct Line {
  const SeriesInfo* info;
  std::vector<Point> points;
};

// The panel's series that have samples, in kPanelSpecs order (top first).
std::vector<Line> PanelLines(const PanelSpec& spec, const Curves& curves) {
  std::vector<Line> lines;
  for (std::string_view name : spec.series) {
    const auto it = curves.find(std::string(name));
    if (name.empty() || it == curves.end() || it->second.empty()) continue;
    Line line{FindSeries(name), {}};
    for (const Sample& s : it->second) {
      const double x = spec.x == XAxis::kEnvSteps ? s.env_steps : s.elapsed_s / 60.0;
      line.points.push_back(Point{x, s.value});
    }
    std::stable_sort(line.points.begin(), line.points.end(),
                     [](const Point& a, const Point& b) { return a.x < b.x; });
    lines.push_back(std::move(line));
  }
  return lines;
}

struct Axes {
  std::vector<double> x_ticks, y_ticks;  // the axes span first to last tick
};

// A panel's ticks; a small plot area gets fewer, so the labels still fit.
Axes ChooseAxes(const PanelSpec& spec, const std::vector<Line>& lines, const Rect& a) {
  double x_lo = 0, x_hi = 0;  // x starts at 0: a run starts there
  double y_lo = lines[0].points[0].y, y_hi = y_lo;
  for (const Line& line : lines) {
    for (const Point& p : line.points) {
      x_lo = std::min(x_lo, p.x);
      x_hi = std::max(x_hi, p.x);
      y_lo = std::min(y_lo, p.y);
      y_hi = std::max(y_hi, p.y);
    }
  }
  if (spec.y == YRange::kUnit) {
    y_lo = 0;
    y_hi = 1;
  } else if (spec.y == YRange::kFromZero) {
    y_lo = std::min(y_lo, 0.0);
    // 10% above the top, so a flat line (lag 1 throughout) is not drawn on the frame.
    y_hi = std::max(y_hi * 1.1, 0.0);
  }
  return Axes{NiceTicks(x_lo, x_hi, std::clamp(static_cast<int>(a.w / kMinTickGapX), 2, 5)),
              NiceTicks(y_lo, y_hi, std::clamp(static_cast<int>(a.h / kMinTickGapY), 2, 5))};
}

Point ToPixel(const Point& p, const Axes& axes, const Rect& a) {
  const std::vector<double>& xt = axes.x_ticks;
  const std::vector<double>& yt = axes.y_ticks;
  return Point{MapToPixel(p.x, xt.front(), xt.back(), a.x, a.right()),
               MapToPixel(p.y, yt.front(), yt.back(), a.bottom(), a.y)};
}

void DrawFrame(cairo_t* cr, const Rect& a) {
  SetColor(cr, kAxis);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, a.x + 0.5, a.y + 0.5, a.w - 1, a.h - 1);
  cairo_stroke(cr);
}

// Grid lines, tick marks and tick labels; a label that would touch the one before is
// left out.
void DrawTicks(cairo_t* cr, const PanelSpec& spec, const Axes& axes, const Rect& a) {
  const std::vector<double>& xt = axes.x_ticks;
  const std::vector<double>& yt = axes.y_ticks;
  const double x_step = xt[1] - xt[0], y_step = yt[1] - yt[0];
  SetFont(cr, kTickFont, false);
  cairo_set_line_width(cr, 1);
  double last_right = -1e9;
  for (double v : xt) {
    const double px = Crisp(MapToPixel(v, xt.front(), xt.back(), a.x, a.right()), a.x, a.right());
    SetColor(cr, kGrid);
    cairo_move_to(cr, px, a.y);
    cairo_line_to(cr, px, a.bottom());
    cairo_stroke(cr);
    SetColor(cr, kAxis);
    cairo_move_to(cr, px, a.bottom());
    cairo_line_to(cr, px, a.bottom() + kTickLen);
    cairo_stroke(cr);
    const std::string label = TickLabel(v, x_step, spec.x == XAxis::kEnvSteps);
    const double w = TextWidth(cr, label);
    if (px - 0.5 * w < last_right + kLabelGap) continue;
    SetColor(cr, kText);
    ShowText(cr, label, px, a.bottom() + 16, 0.5);
    last_right = px + 0.5 * w;
  }
  double last_py = 1e9;
  for (double v : yt) {
    const double py = Crisp(MapToPixel(v, yt.front(), yt.back(), a.bottom(), a.y), a.y, a.bottom());
    SetColor(cr, kGrid);
    cairo_move_to(cr, a.x, py);
    cairo_line_to(cr, a.right(), py);
    cairo_stroke(cr);
    SetColor(cr, kAxis);
    cairo_move_to(cr, a.x, py);
    cairo_line_to(cr, a.x - kTickLen, py);
    cairo_stroke(cr);
    if (last_py - py < kTickFont + 2) continue;  // labels go up the axis
    SetColor(cr, kText);
    ShowText(cr, TickLabel(v, y_step, spec.si_y), a.x - kTickLen - 3, py + 4, 1.0);
    last_py = py;
  }
}

void DrawLines(cairo_t* cr, const std::vector<Line>& lines, const Axes& axes, const Rect& a) {
  cairo_save(cr);
  cairo_rectangle(cr, a.x - kClipSlack, a.y - kClipSlack, a.w + 2 * kClipSlack,
                  a.h + 2 * kClipSlack);
  cairo_clip(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  for (auto line = lines.rbegin(); line != lines.rend(); ++line) {  // the first on top
    SetColor(cr, line->info->color);
    for (const Point& p : line->points) {
      const Point px = ToPixel(p, axes, a);
      cairo_line_to(cr, px.x, px.y);
    }
    if (line->points.size() == 1) {  // a path of one point strokes nothing
      double x, y;
      cairo_get_current_point(cr, &x, &y);
      cairo_new_path(cr);
      cairo_arc(cr, x, y, 1.5 * line->info->line_width, 0, 6.2832);
      cairo_fill(cr);
    } else {
      cairo_set_line_width(cr, line->info->line_width);
      cairo_stroke(cr);
    }
  }
  cairo_restore(cr);
}

// How much of the lines (sampled along each segment) falls inside `box`.
int PointsInside(const std::vector<Line>& lines, const Axes& axes, const Rect& a, const Rect& box) {
  constexpr int kSteps = 16;
  int n = 0;
  for (const Line& line : lines) {
    for (size_t i = 0; i < line.points.size(); ++i) {
      const Point p = ToPixel(line.points[i], axes, a);
      const Point q = ToPixel(line.points[i + 1 < line.points.size() ? i + 1 : i], axes, a);
      for (int k = 0; k < kSteps; ++k) {
        const double x = p.x + (q.x - p.x) * k / kSteps, y = p.y + (q.y - p.y) * k / kSteps;
        n += x >= box.x && x <= box.right() && y >= box.y && y <= box.bottom();
      }
    }
  }
  return n;
}

// Right-aligned above the plot area, level with the panel title (which ends at
// title_right); where that is too narrow, in a box in the corner of the plot area the
// lines cross least. The top series first.
void DrawLegend(cairo_t* cr, const std::vector<Line>& lines, const Axes& axes, const Rect& a,
                double title_right) {
  constexpr double kSwatch = 18, kSwatchGap = 4, kEntryGap = 12, kPad = 6;
  SetFont(cr, kTickFont, false);
  double width = -kEntryGap;
  for (const Line& line : lines) {
    width += kSwatch + kSwatchGap + TextWidth(cr, std::string(line.info->legend)) + kEntryGap;
  }
  double x = a.right() - width, y = a.y - 10;
  if (x < title_right + kEntryGap) {
    const double w = width + 2 * kPad, h = kTickFont + 2 * kPad;
    const double left = a.x + kPad, right = a.right() - kPad - w;
    const double top = a.y + kPad, bottom = a.bottom() - kPad - h;
    const Rect corners[] = {
        {right, bottom, w, h}, {left, top, w, h}, {right, top, w, h}, {left, bottom, w, h}};
    Rect box = corners[0];
    int least = PointsInside(lines, axes, a, box);
    for (const Rect& c : corners) {
      const int n = PointsInside(lines, axes, a, c);
      if (n < least) {
        least = n;
        box = c;
      }
    }
    box.x = std::floor(box.x);
    box.y = std::floor(box.y);
    cairo_rectangle(cr, box.x + 0.5, box.y + 0.5, box.w, box.h);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill_preserve(cr);
    SetColor(cr, kGrid);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    x = box.x + kPad;
    y = box.bottom() - kPad - 1;
  }
  for (const Line& line : lines) {
    const std::string label(line.info->legend);
    SetColor(cr, line.info->color);
    cairo_set_line_width(cr, line.info->line_width);
    cairo_move_to(cr, x, y - 4);
    cairo_line_to(cr, x + kSwatch, y - 4);
    cairo_stroke(cr);
    SetColor(cr, kText);
    ShowText(cr, label, x + kSwatch + kSwatchGap, y, 0);
    x += kSwatch + kSwatchGap + TextWidth(cr, label) + kEntryGap;
  }
}

void DrawPanel(cairo_t* cr, const PanelSpec& spec, const Curves& curves, const Rect& a) {
  const std::string title(spec.title);
  SetFont(cr, kPanelFont, true);
  SetColor(cr, kText);
  ShowText(cr, title, a.x, a.y - 10, 0);
  const double title_right = a.x + TextWidth(cr, title);
  SetFont(cr, kTickFont, false);
  ShowText(cr, spec.x == XAxis::kEnvSteps ? "env steps" : "minutes", a.x + 0.5 * a.w,
           a.bottom() + 34, 0.5);

  const std::vector<Line> lines = PanelLines(spec, curves);
  if (lines.empty()) {
    DrawFrame(cr, a);
    SetFont(cr, kPanelFont, false);
    SetColor(cr, kFaint);
    ShowText(cr, "no data", a.x + 0.5 * a.w, a.y + 0.5 * a.h + 5, 0.5);
    return;
  }
  const Axes axes = ChooseAxes(spec, lines, a);
  DrawTicks(cr, spec, axes, a);
  DrawFrame(cr, a);
  DrawLines(cr, lines, axes, a);
  if (!spec.series[1].empty()) DrawLegend(cr, lines, axes, a, title_right);
}

void WritePngAtomically(cairo_surface_t* surface, const std::string& path) {
  namespace fs = std::filesystem;
  const std::string tmp = path + ".tmp";
  const cairo_status_t status = cairo_surface_write_to_png(surface, tmp.c_str());
  std::error_code ec;
  if (status != CAIRO_STATUS_SUCCESS) {
    fs::remove(tmp, ec);
    throw std::runtime_error("cannot write PNG " + path + ": " + cairo_status_to_string(status));
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw std::runtime_error("cannot write PNG " + path + ": rename " + tmp + ": " + ec.message());
  }
}

}  // namespace

void RenderCurves(const Curves& curves, const PlotConfig& config, const std::string& png_path) {
  config.Validate();
  Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, config.width, config.height),
                  &cairo_surface_destroy);
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("cairo: ") +
                             cairo_status_to_string(cairo_surface_status(surface.get())));
  }
  Context cr(cairo_create(surface.get()), &cairo_destroy);
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  if (!config.title.empty()) {
    // A long title shrinks to fit rather than running off both edges.
    double size = kTitleFont;
    do {
      SetFont(cr.get(), size, true);
    } while (TextWidth(cr.get(), config.title) > config.width - 20 && --size > 8);
    SetColor(cr.get(), kText);
    ShowText(cr.get(), config.title, 0.5 * config.width, 0.5 * kTitleBand + 6, 0.5);
  }
  for (int i = 0; i < kPanels; ++i)
    DrawPanel(cr.get(), kPanelSpecs[i], curves, PlotArea(i, config));
  cairo_surface_flush(surface.get());
  WritePngAtomically(surface.get(), png_path);
}

}  // namespace hoverslam::eval
