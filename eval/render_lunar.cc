#include <cmath>

#include "common/envs/lunar_lander/lunar_lander.h"
#include "eval/render_scene.h"

namespace hoverslam::eval {
namespace {

using namespace lunar;  // NOLINT: Gymnasium's constants

constexpr Rgb kMoon{0.6, 0.6, 0.6};
constexpr Rgb kPole{1.0, 1.0, 1.0};
constexpr Rgb kFlag{0.8, 0.8, 0.0};
constexpr Rgb kHull{0.5, 0.4, 0.9};
constexpr Rgb kOutline{0.3, 0.3, 0.5};
constexpr Rgb kFlame{1.0, 0.5, 0.0};

class LunarScene : public Scene {
 public:
  explicit LunarScene(const GifOptions& options)
      : scale_(static_cast<double>(options.width_px) / kW),
        size_{options.width_px, static_cast<int>(std::lround(kH * scale_))} {}

  ImageSize size() const override { return size_; }
  double step_seconds() const override { return 1.0 / kFps; }
  int last_step(const EpisodeTrace& trace) const override {
    return static_cast<int>(trace.lunar.size()) - 1;
  }

  void DrawBackground(cairo_t* cr, const EpisodeTrace& trace) const override {
    SetColor(cr, kSky);
    cairo_paint(cr);
    ToWorld(cr);
    if (trace.terrain.size() != static_cast<size_t>(kChunks)) return;
    SetColor(cr, kMoon);
    cairo_move_to(cr, 0, -1);
    for (int i = 0; i < kChunks; ++i) cairo_line_to(cr, kW / (kChunks - 1) * i, trace.terrain[i]);
    cairo_line_to(cr, kW, -1);
    cairo_close_path(cr);
    cairo_fill(cr);
    // Flags at the pad's ends (chunks 4 and 6), as Gymnasium draws them: 50 px poles.
    for (int i : {kChunks / 2 - 1, kChunks / 2 + 1}) {
      const double x = kW / (kChunks - 1) * i, y0 = trace.terrain[i], y1 = y0 + 50 / kScale;
      SetColor(cr, kPole);
      cairo_set_line_width(cr, 2 / kScale);
      cairo_move_to(cr, x, y0);
      cairo_line_to(cr, x, y1);
      cairo_stroke(cr);
      SetColor(cr, kFlag);
      cairo_move_to(cr, x, y1);
      cairo_line_to(cr, x, y1 - 10 / kScale);
      cairo_line_to(cr, x + 25 / kScale, y1 - 5 / kScale);
      cairo_close_path(cr);
      cairo_fill(cr);
    }
  }

  void DrawStep(cairo_t* cr, const EpisodeTrace& trace, int t) const override {
    const LunarPoint& p = trace.lunar[t];
    ToWorld(cr);
    cairo_set_line_width(cr, 1.5 / kScale);
    for (int leg = 1; leg <= 2; ++leg) {
      cairo_save(cr);
      cairo_translate(cr, p.x[leg], p.y[leg]);
      cairo_rotate(cr, p.angle[leg]);
      cairo_rectangle(cr, -kLegW / kScale, -kLegH / kScale, 2 * kLegW / kScale, 2 * kLegH / kScale);
      Fill(cr, kHull);
      cairo_restore(cr);
    }
    cairo_translate(cr, p.x[0], p.y[0]);
    cairo_rotate(cr, p.angle[0]);
    if (p.main > 0) {  // from under the hull, as long as the power
      const double len = 1.2 * p.main, half = 6 / kScale;
      SetColor(cr, kFlame);
      cairo_move_to(cr, -half, -10 / kScale);
      cairo_line_to(cr, 0, -10 / kScale - len);
      cairo_line_to(cr, half, -10 / kScale);
      cairo_close_path(cr);
      cairo_fill(cr);
    }
    if (p.side != 0) {  // a positive side action fires the left engine, pushing right
      const double dir = p.side > 0 ? 1 : -1, len = 0.6 * std::abs(p.side);
      const double x0 = -dir * kSideEngineX / kScale, y0 = kSideEngineHeight / kScale;
      SetColor(cr, kFlame);
      cairo_move_to(cr, x0, y0 - 3 / kScale);
      cairo_line_to(cr, x0 - dir * len, y0);
      cairo_line_to(cr, x0, y0 + 3 / kScale);
      cairo_close_path(cr);
      cairo_fill(cr);
    }
    cairo_move_to(cr, kLanderPoly[0][0] / kScale, kLanderPoly[0][1] / kScale);
    for (int i = 1; i < 6; ++i)
      cairo_line_to(cr, kLanderPoly[i][0] / kScale, kLanderPoly[i][1] / kScale);
    cairo_close_path(cr);
    Fill(cr, kHull);
  }

 private:
  // World metres (y up, ground at 0) onto the image (y down).
  void ToWorld(cairo_t* cr) const {
    cairo_translate(cr, 0, kH * scale_);
    cairo_scale(cr, scale_, -scale_);
  }
  static void Fill(cairo_t* cr, const Rgb& color) {
    SetColor(cr, color);
    cairo_fill_preserve(cr);
    SetColor(cr, kOutline);
    cairo_stroke(cr);
  }

  double scale_;  // px per m
  ImageSize size_;
};

}  // namespace

std::unique_ptr<Scene> MakeLunarScene(const GifOptions& options) {
  return std::make_unique<LunarScene>(options);
}

}  // namespace hoverslam::eval
