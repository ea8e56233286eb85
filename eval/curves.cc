#include "eval/curves.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace hoverslam::eval {
namespace {

// Parses all of `text` as a finite double (no spaces, no "nan" or "inf").
bool ParseFinite(std::string_view text, double* out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && std::isfinite(*out);
}

std::vector<std::string_view> SplitCommas(std::string_view line) {
  std::vector<std::string_view> fields;
  for (size_t start = 0;;) {
    const size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma - start));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

}  // namespace

const SeriesInfo* FindSeries(std::string_view name) {
  for (const SeriesInfo& s : kCurveSeries) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Curves ParseCurvesCsv(std::istream& in, const std::string& name,
                      std::map<std::string, int>* ignored) {
  int line_no = 0;
  const auto fail = [&](const std::string& why) {
    throw std::runtime_error(name + ":" + std::to_string(line_no) + ": " + why);
  };
  std::string line;
  const auto next_line = [&] {
    if (!std::getline(in, line)) return false;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  };

  const std::string want(kCurvesCsvHeader);
  if (!next_line()) {
    line_no = 1;
    fail("empty file; the first line must be the header " + want);
  }
  if (line != want) fail("bad header \"" + line + "\"; expected " + want);

  Curves curves;
  while (next_line()) {
    if (line.empty()) continue;
    const std::vector<std::string_view> f = SplitCommas(line);
    if (f.size() != 4) {
      fail("expected 4 columns (" + want + "), got " + std::to_string(f.size()));
    }
    Sample s;
    const std::pair<double*, const char*> numbers[] = {
        {&s.elapsed_s, "elapsed_s"}, {&s.env_steps, "env_steps"}, {&s.value, "value"}};
    const std::string_view texts[] = {f[0], f[1], f[3]};
    for (int i = 0; i < 3; ++i) {
      if (!ParseFinite(texts[i], numbers[i].first)) {
        fail(std::string(numbers[i].second) + " \"" + std::string(texts[i]) +
             "\" is not a finite number");
      }
    }
    const std::string series(f[2]);
    if (FindSeries(series) == nullptr) {
      if (ignored != nullptr) ++(*ignored)[series];
      continue;
    }
    curves[series].push_back(s);
  }
  if (in.bad()) fail(std::string("read error: ") + std::strerror(errno));

  for (auto& [series, samples] : curves) {
    std::stable_sort(samples.begin(), samples.end(),
                     [](const Sample& a, const Sample& b) { return a.elapsed_s < b.elapsed_s; });
  }
  return curves;
}

Curves ReadCurvesCsv(const std::string& path, std::map<std::string, int>* ignored) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  return ParseCurvesCsv(in, path, ignored);
}

void PlotConfig::Validate() const {
  // Below these the tick labels of neighbouring panels collide; the upper bound keeps a
  // typo from allocating gigabytes.
  if (width < 720 || width > 8192) {
    throw std::invalid_argument("--width must be in 720..8192, got " + std::to_string(width));
  }
  if (height < 420 || height > 8192) {
    throw std::invalid_argument("--height must be in 420..8192, got " + std::to_string(height));
  }
}

}  // namespace hoverslam::eval
