// Decodes a GIF with giflib for the eval tests: frames composited as the viewer shows
// them, with their delays.
#pragma once

#include <gif_lib.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace hoverslam::eval::testing {

struct Rgb8 {
  int r = 0, g = 0, b = 0;
};

struct DecodedGif {
  int width = 0, height = 0;
  std::vector<std::vector<uint8_t>> frames;  // palette indices, composited
  std::vector<int> delays_cs;
  std::vector<Rgb8> palette;

  Rgb8 Pixel(int frame, int x, int y) const { return palette[frames[frame][y * width + x]]; }
};

inline DecodedGif ReadGif(const std::string& path) {
  int error = 0;
  GifFileType* gif = DGifOpenFileName(path.c_str(), &error);
  if (gif == nullptr) throw std::runtime_error("DGifOpenFileName: " + std::to_string(error));
  if (DGifSlurp(gif) != GIF_OK || gif->SColorMap == nullptr) {
    DGifCloseFile(gif, &error);
    throw std::runtime_error("DGifSlurp failed on " + path);
  }
  DecodedGif out;
  out.width = gif->SWidth;
  out.height = gif->SHeight;
  for (int i = 0; i < gif->SColorMap->ColorCount; ++i) {
    const GifColorType& c = gif->SColorMap->Colors[i];
    out.palette.push_back(Rgb8{c.Red, c.Green, c.Blue});
  }
  std::vector<uint8_t> screen(static_cast<size_t>(out.width) * out.height, 0);
  for (int f = 0; f < gif->ImageCount; ++f) {
    const SavedImage& image = gif->SavedImages[f];
    GraphicsControlBlock gcb;  // defaults (no transparency, no delay) when a frame has none
    DGifSavedExtensionToGCB(gif, f, &gcb);
    const GifImageDesc& d = image.ImageDesc;
    for (int y = 0; y < d.Height; ++y) {
      for (int x = 0; x < d.Width; ++x) {
        const int c = image.RasterBits[y * d.Width + x];
        if (c != gcb.TransparentColor) screen[(d.Top + y) * out.width + d.Left + x] = c;
      }
    }
    out.frames.push_back(screen);
    out.delays_cs.push_back(gcb.DelayTime);
  }
  DGifCloseFile(gif, &error);
  return out;
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace hoverslam::eval::testing
