#include "eval/render_gif.h"

#include <cairo.h>
#include <fcntl.h>
#include <gif_lib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace hoverslam::eval {
namespace {

constexpr float kDegToRad = 3.14159265358979f / 180.0f;
constexpr int kTransparent = 255;  // palette index meaning "unchanged since the last frame"

struct Rgb {
  double r, g, b;
};
// Near palette entries, so flat areas quantise to one colour without banding.
constexpr Rgb kSky{0.6, 0.83, 1.0};
constexpr Rgb kGround{0.4, 0.33, 0.2};
constexpr Rgb kPad{1.0, 0.83, 0.0};
constexpr Rgb kBody{0.95, 0.95, 0.95};
constexpr Rgb kOutline{0.2, 0.2, 0.2};
constexpr Rgb kNose{0.8, 0.0, 0.0};
constexpr Rgb kFlameOuter{1.0, 0.5, 0.0};
constexpr Rgb kFlameInner{1.0, 1.0, 0.6};
constexpr Rgb kText{0.0, 0.0, 0.0};

void SetColor(cairo_t* cr, const Rgb& c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }

// A fixed palette: a 6x7x6 colour cube (green gets the extra level, the eye resolves
// it best), three greys, and kTransparent. A fixed palette needs no per-frame
// analysis, and a 32x32x32 table makes the nearest colour one lookup.
class Palette {
 public:
  Palette() : lut_(1 << 15) {
    int k = 0;
    for (int r = 0; r < 6; ++r) {
      for (int g = 0; g < 7; ++g) {
        for (int b = 0; b < 6; ++b) {
          colors_[k++] = Color(r * 51, (g * 255 + 3) / 6, b * 51);
        }
      }
    }
    for (int grey : {64, 128, 192}) colors_[k++] = Color(grey, grey, grey);
    colors_[kTransparent] = Color(255, 0, 255);  // never drawn
    for (int i = 0; i < (1 << 15); ++i) {
      // Centre of the 8-level bucket of each channel.
      const int r = ((i >> 10) << 3) | 4, g = (((i >> 5) & 31) << 3) | 4, b = ((i & 31) << 3) | 4;
      int best = 0, best_d = 1 << 30;
      for (int c = 0; c < kTransparent; ++c) {
        const int dr = r - colors_[c].Red, dg = g - colors_[c].Green, db = b - colors_[c].Blue;
        const int d = 3 * dr * dr + 4 * dg * dg + 2 * db * db;  // rough perceptual weights
        if (d < best_d) best = c, best_d = d;
      }
      lut_[i] = static_cast<uint8_t>(best);
    }
  }

  // Nearest colour of an opaque cairo ARGB32 pixel.
  uint8_t Nearest(uint32_t argb) const {
    return lut_[((argb >> 9) & 0x7C00) | ((argb >> 6) & 0x3E0) | ((argb >> 3) & 0x1F)];
  }
  const GifColorType* colors() const { return colors_; }

 private:
  static GifColorType Color(int r, int g, int b) {
    return GifColorType{static_cast<GifByteType>(r), static_cast<GifByteType>(g),
                        static_cast<GifByteType>(b)};
  }

  GifColorType colors_[256] = {};
  std::vector<uint8_t> lut_;
};

// Streams frames to a GIF file. Each frame after the first holds only the box of
// pixels that changed, with unchanged ones transparent, drawn over the last frame:
// a moving rocket costs a few hundred bytes a frame instead of a whole image.
class GifWriter {
 public:
  GifWriter(const std::string& path, ImageSize size, const Palette& palette) : size_(size) {
    // Opened here, not by EGifOpenFileName, which would make the file owner-only.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
    int error = 0;
    gif_ = EGifOpenFileHandle(fd, &error);  // owns fd from here on success
    if (gif_ == nullptr) {
      ::close(fd);
      throw std::runtime_error(GifErrorString(error));
    }
    EGifSetGifVersion(gif_, true);  // GIF89a: delays, transparency, looping
    ColorMapObject* map = GifMakeMapObject(256, palette.colors());
    if (map == nullptr) throw std::runtime_error("out of memory");
    const int rc = EGifPutScreenDesc(gif_, size.width, size.height, 8, 0, map);
    GifFreeMapObject(map);
    Check(rc);
    // NETSCAPE2.0 application extension: loop count 0 = forever.
    const GifByteType loop[3] = {1, 0, 0};
    Check(EGifPutExtensionLeader(gif_, APPLICATION_EXT_FUNC_CODE));
    Check(EGifPutExtensionBlock(gif_, 11, "NETSCAPE2.0"));
    Check(EGifPutExtensionBlock(gif_, 3, loop));
    Check(EGifPutExtensionTrailer(gif_));
    prev_.assign(static_cast<size_t>(size.width) * size.height, kTransparent);
  }

  ~GifWriter() {
    if (gif_ != nullptr) EGifCloseFile(gif_, nullptr);
  }
  GifWriter(const GifWriter&) = delete;
  GifWriter& operator=(const GifWriter&) = delete;

  // `pixels`: palette indices, [height, width] row-major; shown for delay_cs / 100 s.
  void AddFrame(const std::vector<uint8_t>& pixels, int delay_cs) {
    const int w = size_.width, h = size_.height;
    int x0 = w, y0 = h, x1 = -1, y1 = -1;  // inclusive box of changed pixels
    for (int y = 0; y < h; ++y) {
      const uint8_t* cur = &pixels[static_cast<size_t>(y) * w];
      const uint8_t* old = &prev_[static_cast<size_t>(y) * w];
      for (int x = 0; x < w; ++x) {
        if (cur[x] != old[x]) {
          x0 = std::min(x0, x), x1 = std::max(x1, x);
          y0 = std::min(y0, y), y1 = std::max(y1, y);
        }
      }
    }
    if (x1 < 0) x0 = y0 = x1 = y1 = 0;  // nothing changed: one transparent pixel

    GraphicsControlBlock gcb;
    gcb.DisposalMode = DISPOSE_DO_NOT;  // keep this frame under the next
    gcb.UserInputFlag = false;
    gcb.DelayTime = delay_cs;
    gcb.TransparentColor = kTransparent;
    GifByteType ext[4];
    const size_t len = EGifGCBToExtension(&gcb, ext);
    Check(EGifPutExtension(gif_, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(len), ext));

    const int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    Check(EGifPutImageDesc(gif_, x0, y0, bw, bh, false, nullptr));
    std::vector<GifPixelType> line(bw);
    for (int y = y0; y <= y1; ++y) {
      const size_t row = static_cast<size_t>(y) * w;
      for (int x = x0; x <= x1; ++x) {
        const uint8_t c = pixels[row + x];
        line[x - x0] = c != prev_[row + x] ? c : kTransparent;
        prev_[row + x] = c;
      }
      Check(EGifPutLine(gif_, line.data(), bw));
    }
  }

  void Close() {
    int error = 0;
    const int rc = EGifCloseFile(gif_, &error);  // frees gif_ whatever it returns
    gif_ = nullptr;
    if (rc != GIF_OK) throw std::runtime_error(GifErrorString(error));
  }

 private:
  void Check(int rc) {
    if (rc != GIF_OK) throw std::runtime_error(GifErrorString(gif_->Error));
  }

  ImageSize size_;
  GifFileType* gif_ = nullptr;
  std::vector<uint8_t> prev_;  // what the viewer shows now
};

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

// Draws one frame; world coordinates in metres, y up, theta counter-clockwise.
class FrameDrawer {
 public:
  FrameDrawer(const RocketConfig& config, const GifOptions& options)
      : config_(config),
        size_(GifImageSize(config.physics, options)),
        scale_(static_cast<double>(options.width_px) / config.physics.world_width),
        background_(MakeSurface(size_)),
        frame_(MakeSurface(size_)),
        cr_(cairo_create(frame_.get()), &cairo_destroy) {
    Context bg(cairo_create(background_.get()), &cairo_destroy);
    DrawWorld(bg.get());
    cairo_select_font_face(cr_.get(), "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_BOLD);
  }

  ImageSize size() const { return size_; }

  // Renders the rocket at `p` with a caption at the top left and, when not empty, a
  // banner across the middle; returns the frame as palette indices.
  const std::vector<uint8_t>& Draw(const TracePoint& p, const std::string& caption,
                                   const std::string& banner, const Rgb& banner_color,
                                   const Palette& palette) {
    cairo_t* cr = cr_.get();
    cairo_set_source_surface(cr, background_.get(), 0, 0);
    cairo_paint(cr);
    cairo_save(cr);
    ToWorld(cr);
    DrawRocket(cr, p);
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
  Surface background_, frame_;
  Context cr_;
  std::vector<uint8_t> pixels_;
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

void RenderGif(const std::vector<EpisodeTrace>& episodes, const RocketConfig& config,
               const std::string& path, const GifOptions& options) {
  namespace fs = std::filesystem;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    if (options.width_px < 16 || options.steps_per_frame < 1 || options.hold_cs < 0) {
      throw std::invalid_argument("bad GifOptions");
    }
    const Palette palette;
    FrameDrawer drawer(config, options);
    GifWriter writer(tmp, drawer.size(), palette);
    const double dt = config.physics.time_step;
    const int step = options.steps_per_frame;
    for (size_t e = 0; e < episodes.size(); ++e) {
      const EpisodeTrace& trace = episodes[e];
      const int last = static_cast<int>(trace.points.size()) - 1;
      if (last < 0) continue;
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
        writer.AddFrame(drawer.Draw(trace.points[t], caption, end ? Banner(trace.result) : "",
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

}  // namespace hoverslam::eval
