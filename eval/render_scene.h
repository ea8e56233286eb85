// What a task's GIF draws (render_gif.cc runs the frames): its image size, the world behind
// an episode, and its bodies at each recorded step.
#pragma once

#include <cairo.h>

#include <memory>

#include "eval/evaluate.h"
#include "eval/render_gif.h"

namespace hoverslam::eval {

struct Rgb {
  double r, g, b;
};
inline void SetColor(cairo_t* cr, const Rgb& c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }

constexpr Rgb kSky{0.6, 0.83, 1.0};  // both scenes' sky, a palette entry

class Scene {
 public:
  virtual ~Scene() = default;
  virtual ImageSize size() const = 0;
  virtual double step_seconds() const = 0;
  // The last step recorded (the trace holds last + 1 points).
  virtual int last_step(const EpisodeTrace& trace) const = 0;
  virtual void DrawBackground(cairo_t* cr, const EpisodeTrace& trace) const = 0;
  virtual void DrawStep(cairo_t* cr, const EpisodeTrace& trace, int t) const = 0;
};

// LunarLander as Gymnasium draws it: the moon's terrain, the pad's flags, the hull, its legs
// and the engines' flames. options.width_px wide over the 20 m world.
std::unique_ptr<Scene> MakeLunarScene(const GifOptions& options);

}  // namespace hoverslam::eval
