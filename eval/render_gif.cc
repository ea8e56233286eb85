#include "eval/render_gif.h"

#include <cairo.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "common/envs/lunar_lander/lunar_lander.h"
#include "eval/gif_writer.h"
#include "eval/render_scene.h"

namespace hoverslam::eval {
namespace {

constexpr float kDegToRad = 3.14159265358979f / 180.0f;

// Near palette entries, so flat areas quantise to one colour without banding.
constexpr Rgb kGround{0.4, 0.33, 0.2};
constexpr Rgb kPad{1.0, 0.83, 0.0};
constexpr Rgb kBody{0.95, 0.95, 0.95};
constexpr Rgb kOutline{0.2, 0.2, 0.2};
constexpr Rgb kNose{0.8, 0.0, 0.0};
constexpr Rgb kFlameOuter{1.0, 0.5, 0.0};
constexpr Rgb kFlameInner{1.0, 1.0, 0.6};
constexpr Rgb kText{0.0, 0.0, 0.0};

using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
using Context = std::unique_ptr<cairo_t, decltype(&cairo_destroy)>;

Surface MakeSurface(ImageSize size) {
  Surface s(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, size.width, size.height),
            &cairo_surface_destroy);
  if (cairo_surface_status(s.get()) != CAIRO_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("cairo: ") +
                             cairo_status_to_string(cairo_surface_status(s.get())));
  }
  return s;
}

// Draws frames of a scene: the background once per episode, then the moving bodies, a
// caption and a banner over it, quantised to the palette.
class FrameDrawer {
 public:
  explicit FrameDrawer(const Scene& scene)
      : scene_(scene),
        size_(scene.size()),
        background_(MakeSurface(size_)),
        frame_(MakeSurface(size_)),
        cr_(cairo_create(frame_.get()), &cairo_destroy) {
    cairo_select_font_face(cr_.get(), "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_BOLD);
  }

  void StartEpisode(const EpisodeTrace& trace) {
    Context bg(cairo_create(background_.get()), &cairo_destroy);
    scene_.DrawBackground(bg.get(), trace);
  }

  // Renders step t of `trace` with a caption at the top left and, when not empty, a
  // banner across the middle; returns the frame as palette indices.
  const std::vector<uint8_t>& Draw(const EpisodeTrace& trace, int t, const std::string& caption,
                                   const std::string& banner, const Rgb& banner_color,
                                   const Palette& palette) {
    cairo_t* cr = cr_.get();
    cairo_set_source_surface(cr, background_.get(), 0, 0);
    cairo_paint(cr);
    cairo_save(cr);
    scene_.DrawStep(cr, trace, t);
    cairo_restore(cr);

    cairo_set_font_size(cr, 16);
    SetColor(cr, kText);
    cairo_move_to(cr, 10, 22);
    cairo_show_text(cr, caption.c_str());
    if (!banner.empty()) {
      cairo_set_font_size(cr, 22);
      cairo_text_extents_t ext;
      cairo_text_extents(cr, banner.c_str(), &ext);
      const double x = 0.5 * (size_.width - ext.width), y = 0.4 * size_.height;
      cairo_set_source_rgb(cr, 1, 1, 1);
      cairo_rectangle(cr, x - 12, y - ext.height - 10, ext.width + 24, ext.height + 20);
      cairo_fill(cr);
      SetColor(cr, banner_color);
      cairo_move_to(cr, x - ext.x_bearing, y);
      cairo_show_text(cr, banner.c_str());
    }

    cairo_surface_flush(frame_.get());
    const unsigned char* data = cairo_image_surface_get_data(frame_.get());
    const int stride = cairo_image_surface_get_stride(frame_.get());
    pixels_.resize(static_cast<size_t>(size_.width) * size_.height);
    for (int y = 0; y < size_.height; ++y) {
      const uint32_t* row = reinterpret_cast<const uint32_t*>(data + y * stride);
      uint8_t* out = &pixels_[static_cast<size_t>(y) * size_.width];
      for (int x = 0; x < size_.width; ++x) out[x] = palette.Nearest(row[x]);
    }
    return pixels_;
  }

  ImageSize size() const { return size_; }

 private:
  const Scene& scene_;
  ImageSize size_;
  Surface background_, frame_;
  Context cr_;
  std::vector<uint8_t> pixels_;
};

// The rocket: world coordinates in metres, y up, theta counter-clockwise.
class RocketScene : public Scene {
 public:
  RocketScene(const RocketConfig& config, const GifOptions& options)
      : config_(config),
        size_(GifImageSize(config.physics, options)),
        scale_(static_cast<double>(options.width_px) / config.physics.world_width) {}

  ImageSize size() const override { return size_; }
  double step_seconds() const override { return config_.physics.time_step; }
  int last_step(const EpisodeTrace& trace) const override {
    return static_cast<int>(trace.points.size()) - 1;
  }
  void DrawBackground(cairo_t* cr, const EpisodeTrace&) const override { DrawWorld(cr); }
  void DrawStep(cairo_t* cr, const EpisodeTrace& trace, int t) const override {
    ToWorld(cr);
    DrawRocket(cr, trace.points[t]);
  }

 private:
  // Maps world metres (y up, ground at 0) onto the image (y down).
  void ToWorld(cairo_t* cr) const {
    cairo_translate(cr, 0, config_.physics.ceiling * scale_);
    cairo_scale(cr, scale_, -scale_);
  }

  void DrawWorld(cairo_t* cr) const {
    const RocketPhysicsConfig& ph = config_.physics;
    SetColor(cr, kSky);
    cairo_paint(cr);
    ToWorld(cr);
    const double below = ph.ceiling + 10.0;  // past the image's bottom edge
    SetColor(cr, kGround);
    cairo_rectangle(cr, 0, -below, ph.world_width, below);
    cairo_fill(cr);
    const double half = config_.reward.pad_half_width;
    SetColor(cr, kPad);
    cairo_rectangle(cr, ph.pad_x - half, -0.6, 2 * half, 0.6);
    cairo_fill(cr);
  }

  // Clips to y >= 0, given the current transform is the body frame of `s`.
  void ClipAboveGround(cairo_t* cr, const RocketState& s) const {
    cairo_save(cr);
    cairo_rotate(cr, -s.theta);
    cairo_translate(cr, -s.x, -s.y);
    cairo_rectangle(cr, 0, 0, config_.physics.world_width, config_.physics.ceiling);
    cairo_restore(cr);  // restores the transform, keeps the path
    cairo_clip(cr);
  }

  void DrawRocket(cairo_t* cr, const TracePoint& p) const {
    const RocketPhysicsConfig& ph = config_.physics;
    const double w = ph.rocket_width, h = ph.rocket_height;
    cairo_translate(cr, p.state.x, p.state.y);
    cairo_rotate(cr, p.state.theta);  // y is up here, so positive turns counter-clockwise

    if (p.thrust > 0.01f) {
      // RocketPhysics pushes along the body axis turned clockwise by the gimbal angle,
      // at gimbal_arm below the centre; the exhaust leaves the opposite way.
      cairo_save(cr);
      ClipAboveGround(cr, p.state);  // the exhaust spreads on the ground, not through it
      cairo_translate(cr, 0, -ph.gimbal_arm);
      cairo_rotate(cr, -p.gimbal * ph.max_gimbal_deg * kDegToRad);
      const double len = 2.0 * h * p.thrust;  // proportional to the thrust
      const double half = 0.3 * w;
      SetColor(cr, kFlameOuter);
      cairo_move_to(cr, -half, 0);
      cairo_line_to(cr, -0.7 * half, -0.5 * len);
      cairo_line_to(cr, 0, -len);
      cairo_line_to(cr, 0.7 * half, -0.5 * len);
      cairo_line_to(cr, half, 0);
      cairo_close_path(cr);
      cairo_fill(cr);
      SetColor(cr, kFlameInner);
      cairo_move_to(cr, -0.5 * half, 0);
      cairo_line_to(cr, 0, -0.6 * len);
      cairo_line_to(cr, 0.5 * half, 0);
      cairo_close_path(cr);
      cairo_fill(cr);
      cairo_restore(cr);
    }

    cairo_rectangle(cr, -0.5 * w, -0.5 * h, w, h);
    SetColor(cr, kBody);
    cairo_fill_preserve(cr);
    SetColor(cr, kOutline);
    cairo_set_line_width(cr, 0.15);
    cairo_stroke(cr);
    // A red nose shows which way is up.
    SetColor(cr, kNose);
    cairo_rectangle(cr, -0.5 * w, 0.5 * h - 0.2 * h, w, 0.2 * h);
    cairo_fill(cr);
  }

  RocketConfig config_;
  ImageSize size_;
  double scale_;  // px per m
};

std::string Format(const char* fmt, double a, double b = 0, double c = 0) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), fmt, a, b, c);
  return buf;
}

std::string Banner(const EpisodeResult& r) {
  std::string text(OutcomeName(r.outcome));
  std::transform(text.begin(), text.end(), text.begin(),
                 [](char ch) { return ch == '_' ? ' ' : static_cast<char>(std::toupper(ch)); });
  if (r.touched_down) {
    text += Format("  %.2f m/s, %.1f deg", r.touchdown_speed, r.touchdown_tilt_deg);
  }
  return text + Format("  return %.1f", r.episode_return);
}

Rgb BannerColor(Outcome outcome) {
  return outcome == Outcome::kLanded ? Rgb{0.0, 0.5, 0.0} : Rgb{0.8, 0.0, 0.0};
}

}  // namespace

ImageSize GifImageSize(const RocketPhysicsConfig& physics, const GifOptions& options) {
  const double scale = static_cast<double>(options.width_px) / physics.world_width;
  return ImageSize{options.width_px,
                   static_cast<int>(std::lround((physics.ceiling + options.ground_m) * scale))};
}

int GifFrameCount(int length, const GifOptions& options) {
  return length / options.steps_per_frame + 1 + (length % options.steps_per_frame != 0 ? 1 : 0);
}

namespace {

void WriteGif(const Scene& scene, const std::vector<EpisodeTrace>& episodes,
              const std::string& path, const GifOptions& options) {
  namespace fs = std::filesystem;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    if (options.width_px < 16 || options.steps_per_frame < 1 || options.hold_cs < 0) {
      throw std::invalid_argument("bad GifOptions");
    }
    const Palette palette;
    FrameDrawer drawer(scene);
    GifWriter writer(tmp, drawer.size().width, drawer.size().height, palette);
    const double dt = scene.step_seconds();
    const int step = options.steps_per_frame;
    for (size_t e = 0; e < episodes.size(); ++e) {
      const EpisodeTrace& trace = episodes[e];
      const int last = scene.last_step(trace);
      if (last < 0) continue;
      drawer.StartEpisode(trace);
      for (int t = 0;; t = std::min(t + step, last)) {
        const std::string caption = "episode " + std::to_string(e + 1) + "/" +
                                    std::to_string(episodes.size()) +
                                    Format("    t = %5.2f s", t * dt);
        const bool end = t == last;
        // Delays follow the episode clock, rounded where it ticks (3, 4, 3 cs at 30
        // fps), so the animation keeps real time.
        const int next = std::min(t + step, last);
        const int delay =
            end ? options.hold_cs
                : static_cast<int>(std::lround(100.0 * next * dt) - std::lround(100.0 * t * dt));
        writer.AddFrame(drawer.Draw(trace, t, caption, end ? Banner(trace.result) : "",
                                    BannerColor(trace.result.outcome), palette),
                        delay);
        if (end) break;
      }
    }
    writer.Close();
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw std::runtime_error("rename " + tmp + ": " + ec.message());
  } catch (const std::exception& e) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw std::runtime_error("cannot write GIF " + path + ": " + e.what());
  }
}

}  // namespace

void RenderGif(const std::vector<EpisodeTrace>& episodes, const RocketConfig& config,
               const std::string& path, const GifOptions& options) {
  WriteGif(RocketScene(config, options), episodes, path, options);
}

void RenderLunarGif(const std::vector<EpisodeTrace>& episodes, const std::string& path,
                    const GifOptions& options) {
  WriteGif(*MakeLunarScene(options), episodes, path, options);
}

void RenderEnvGif(const std::string& env, const EnvOptions& env_options,
                  const std::vector<EpisodeTrace>& episodes, const std::string& path,
                  const GifOptions& options) {
  // One line per env with a scene; its trace recorder is in env_traces.cc.
  if (env == kDefaultEnvName) return RenderGif(episodes, env_options.rocket, path, options);
  if (env == LunarLanderSpec().name) return RenderLunarGif(episodes, path, options);
  throw std::invalid_argument("--render: no drawing for --env " + env);
}

}  // namespace hoverslam::eval
