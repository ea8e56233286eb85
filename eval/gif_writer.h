// GIF encoding for the landing renders: a fixed palette that quantises cairo's
// ARGB32 pixels with one lookup, and a writer that streams frames, each holding only
// what changed since the last.
#pragma once

#include <gif_lib.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hoverslam::eval {

// A fixed palette: a 6x7x6 colour cube (green gets the extra level, the eye resolves
// it best), three greys, and kTransparent. A fixed palette needs no per-frame
// analysis, and a 32x32x32 table makes the nearest colour one lookup.
class Palette {
 public:
  static constexpr int kTransparent = 255;  // index meaning "unchanged since the last frame"

  Palette();
  // Nearest colour of an opaque cairo ARGB32 pixel.
  uint8_t Nearest(uint32_t argb) const {
    return lut_[((argb >> 9) & 0x7C00) | ((argb >> 6) & 0x3E0) | ((argb >> 3) & 0x1F)];
  }
  const GifColorType* colors() const { return colors_; }

 private:
  GifColorType colors_[256] = {};
  std::vector<uint8_t> lut_;
};

// Streams frames to a GIF file (GIF89a, looping forever). Each frame after the first
// holds only the box of pixels that changed, with unchanged ones transparent, drawn
// over the last frame: a moving rocket costs a few hundred bytes a frame instead of a
// whole image. Throws std::runtime_error on any giflib or file error.
class GifWriter {
 public:
  GifWriter(const std::string& path, int width, int height, const Palette& palette);
  ~GifWriter();
  GifWriter(const GifWriter&) = delete;
  GifWriter& operator=(const GifWriter&) = delete;

  // `pixels`: palette indices, [height, width] row-major; shown for delay_cs / 100 s.
  void AddFrame(const std::vector<uint8_t>& pixels, int delay_cs);
  // Finishes the file; the destructor closes it without reporting errors.
  void Close();

 private:
  void Check(int rc);

  int width_, height_;
  GifFileType* gif_ = nullptr;
  std::vector<uint8_t> prev_;  // what the viewer shows now
};

}  // namespace hoverslam::eval
