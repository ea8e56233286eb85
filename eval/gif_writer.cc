#include "eval/gif_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace hoverslam::eval {
namespace {

GifColorType MakeColor(int r, int g, int b) {
  return GifColorType{static_cast<GifByteType>(r), static_cast<GifByteType>(g),
                      static_cast<GifByteType>(b)};
}

}  // namespace

Palette::Palette() : lut_(1 << 15) {
  int k = 0;
  for (int r = 0; r < 6; ++r) {
    for (int g = 0; g < 7; ++g) {
      for (int b = 0; b < 6; ++b) {
        colors_[k++] = MakeColor(r * 51, (g * 255 + 3) / 6, b * 51);
      }
    }
  }
  for (int grey : {64, 128, 192}) colors_[k++] = MakeColor(grey, grey, grey);
  colors_[kTransparent] = MakeColor(255, 0, 255);  // never drawn
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

GifWriter::GifWriter(const std::string& path, int width, int height, const Palette& palette)
    : width_(width), height_(height) {
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
  const int rc = EGifPutScreenDesc(gif_, width, height, 8, 0, map);
  GifFreeMapObject(map);
  Check(rc);
  // NETSCAPE2.0 application extension: loop count 0 = forever.
  const GifByteType loop[3] = {1, 0, 0};
  Check(EGifPutExtensionLeader(gif_, APPLICATION_EXT_FUNC_CODE));
  Check(EGifPutExtensionBlock(gif_, 11, "NETSCAPE2.0"));
  Check(EGifPutExtensionBlock(gif_, 3, loop));
  Check(EGifPutExtensionTrailer(gif_));
  prev_.assign(static_cast<size_t>(width) * height, Palette::kTransparent);
}

GifWriter::~GifWriter() {
  if (gif_ != nullptr) EGifCloseFile(gif_, nullptr);
}

void GifWriter::AddFrame(const std::vector<uint8_t>& pixels, int delay_cs) {
  const int w = width_, h = height_;
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
  gcb.TransparentColor = Palette::kTransparent;
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
      line[x - x0] = c != prev_[row + x] ? c : Palette::kTransparent;
      prev_[row + x] = c;
    }
    Check(EGifPutLine(gif_, line.data(), bw));
  }
}

void GifWriter::Close() {
  int error = 0;
  const int rc = EGifCloseFile(gif_, &error);  // frees gif_ whatever it returns
  gif_ = nullptr;
  if (rc != GIF_OK) throw std::runtime_error(GifErrorString(error));
}

void GifWriter::Check(int rc) {
  if (rc != GIF_OK) throw std::runtime_error(GifErrorString(gif_->Error));
}

}  // namespace hoverslam::eval
