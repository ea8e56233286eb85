// Renders recorded episodes to a looping animated GIF: cairo draws each frame,
// a fixed palette quantises it, giflib encodes only what changed. The rocket and
// LunarLander each have their scene (render_scene.h).
#pragma once

#include <string>
#include <vector>

#include "common/rocket_config.h"
#include "eval/evaluate.h"

namespace hoverslam::eval {

struct GifOptions {
  int width_px = 640;       // image width; the height follows the world's aspect
  float ground_m = 3.0f;    // ground strip drawn below y = 0, m
  int steps_per_frame = 2;  // env steps per frame: 30 fps at 60 Hz
  int hold_cs = 100;        // how long each episode's last frame stays, 1/100 s
};

struct ImageSize {
  int width = 0, height = 0;
};

// width_px wide; x in [0, world_width], y in [-ground_m, ceiling] at the same scale.
ImageSize GifImageSize(const RocketPhysicsConfig& physics, const GifOptions& options);

// Frames an episode of `length` steps gets: every steps_per_frame-th step from the
// start, and the last step.
int GifFrameCount(int length, const GifOptions& options);

// Writes `episodes` one after another, looping forever. Written to a temp file in
// the same directory and renamed, so a reader never sees half a GIF. Throws
// std::runtime_error naming the file on failure (the temp file is removed).
void RenderGif(const std::vector<EpisodeTrace>& episodes, const RocketConfig& config,
               const std::string& path, const GifOptions& options = {});

// The same for LunarLander episodes (EpisodeTrace::lunar and terrain).
void RenderLunarGif(const std::vector<EpisodeTrace>& episodes, const std::string& path,
                    const GifOptions& options = {});

// The env named `env`'s episodes, drawn by its scene (one line per env in render_gif.cc).
// Throws std::invalid_argument for an env without one.
void RenderEnvGif(const std::string& env, const EnvOptions& env_options,
                  const std::vector<EpisodeTrace>& episodes, const std::string& path,
                  const GifOptions& options = {});

}  // namespace hoverslam::eval
