// curves.csv parsing, the figure's geometry by hand, the PNG read back with cairo, and
// the hoverslam-plot binary's refusals.
#include <cairo.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "eval/curves.h"
#include "eval/curves_layout.h"

extern char** environ;

namespace hoverslam::eval {
namespace {

namespace fs = std::filesystem;

// A fresh directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = fs::temp_directory_path() / "hoverslam_curves_XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { fs::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

Curves Parse(const std::string& text, std::map<std::string, int>* ignored = nullptr) {
  std::istringstream in(text);
  return ParseCurvesCsv(in, "run/curves.csv", ignored);
}

// The error ParseCurvesCsv throws for `text`, or "" when it parses.
std::string ParseError(const std::string& text) {
  try {
    Parse(text);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

const std::string kHeader = "elapsed_s,env_steps,series,value\n";

TEST(CurvesParse, GoodFileGivesSortedSamplesPerSeries) {
  std::map<std::string, int> ignored;
  const Curves curves = Parse(kHeader +
                                  "20.5,1179648,eval_success,0.5\n"
                                  "12,491520,steps_per_s,58800\n"
                                  "\n"
                                  "10,400000,eval_success,0.25\r\n"
                                  "20.5,1179648,future_metric,7\n"
                                  "30,2e6,future_metric,-1\n"
                                  "20.5,1179648,eval_return,-66.9",
                              &ignored);
  ASSERT_EQ(curves.size(), 3u);
  const std::vector<Sample>& success = curves.at("eval_success");
  ASSERT_EQ(success.size(), 2u);  // sorted by time, not file order
  EXPECT_EQ(success[0].elapsed_s, 10);
  EXPECT_EQ(success[0].env_steps, 400000);
  EXPECT_EQ(success[0].value, 0.25);
  EXPECT_EQ(success[1].elapsed_s, 20.5);
  EXPECT_EQ(success[1].env_steps, 1179648);
  EXPECT_EQ(success[1].value, 0.5);
  ASSERT_EQ(curves.at("steps_per_s").size(), 1u);
  EXPECT_EQ(curves.at("steps_per_s")[0].value, 58800);
  EXPECT_EQ(curves.at("eval_return")[0].value, -66.9);
  EXPECT_EQ(curves.count("future_metric"), 0u);
  EXPECT_EQ(ignored, (std::map<std::string, int>{{"future_metric", 2}}));
}

TEST(CurvesParse, HeaderOnlyIsEmpty) { EXPECT_TRUE(Parse(kHeader).empty()); }

TEST(CurvesParse, EachBadRowNamesFileAndLine) {
  struct Case {
    std::string text, says;
  };
  const Case cases[] = {
      {"", "run/curves.csv:1: empty file"},
      {"time,steps,series,value\n", "run/curves.csv:1: bad header"},
      {"elapsed_s,env_steps,series\n", "run/curves.csv:1: bad header"},
      {kHeader + "1,2,eval_success,0\n1,2,eval_success\n", "run/curves.csv:3: expected 4 columns"},
      {kHeader + "1,2,eval_success,0,9\n", "run/curves.csv:2: expected 4 columns"},
      {kHeader + "\n\n1,x,eval_success,0\n", "run/curves.csv:4: env_steps \"x\""},
      {kHeader + "1,2,eval_success,0.5x\n", "run/curves.csv:2: value \"0.5x\""},
      {kHeader + "1,2,eval_success,\n", "run/curves.csv:2: value \"\""},
      {kHeader + "nan,2,eval_success,1\n", "run/curves.csv:2: elapsed_s \"nan\" is not a finite"},
      {kHeader + "1,2,eval_success,inf\n", "run/curves.csv:2: value \"inf\" is not a finite"},
      // Unknown series are skipped, but their numbers are still checked.
      {kHeader + "1,2,future_metric,zz\n", "run/curves.csv:2: value \"zz\""},
  };
  for (const Case& c : cases) {
    const std::string error = ParseError(c.text);
    EXPECT_NE(error.find(c.says), std::string::npos) << "text: " << c.text << "\nerror: " << error;
  }
}

TEST(CurvesParse, MissingFileNamesIt) {
  try {
    ReadCurvesCsv("/nonexistent/curves.csv");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/curves.csv"), std::string::npos);
  }
}

void ExpectTicks(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-9 * (1 + std::abs(want[i])));
}

TEST(CurvesLayout, NiceTicksByHand) {
  // 9.8e6 / 5 = 1.96e6 rounds to 2e6; 10M is the first multiple >= 9.8M.
  ExpectTicks(NiceTicks(0, 9.8e6), {0, 2e6, 4e6, 6e6, 8e6, 10e6});
  ExpectTicks(NiceTicks(0, 1), {0, 0.2, 0.4, 0.6, 0.8, 1});
  // 206 / 5 = 41.2 rounds to 50; -70 and 136 widen to -100 and 150.
  ExpectTicks(NiceTicks(-70, 136), {-100, -50, 0, 50, 100, 150});
  // 58800 / 5 = 11760 rounds to 10000.
  ExpectTicks(NiceTicks(0, 58800), {0, 10e3, 20e3, 30e3, 40e3, 50e3, 60e3});
  ExpectTicks(NiceTicks(0, 4), {0, 1, 2, 3, 4});  // 0.8 rounds up to 1
  // 0.4 / 5 = 0.08 rounds to 0.1; 0.6 / 0.1 is 5.999..., still starting at 0.6, exactly.
  const std::vector<double> tenths = NiceTicks(0.6, 1.0);
  ASSERT_EQ(tenths.size(), 5u);
  EXPECT_EQ(tenths[0], 0.6);
  EXPECT_EQ(tenths[4], 1.0);
  // One value: 0 widens to [0, 1]; 5 to [4.5, 5.5], ticks of 0.2 from 4.4 to 5.6.
  ExpectTicks(NiceTicks(0, 0), {0, 0.2, 0.4, 0.6, 0.8, 1});
  ExpectTicks(NiceTicks(5, 5), {4.4, 4.6, 4.8, 5.0, 5.2, 5.4, 5.6});
}

TEST(CurvesLayout, TickLabelsByHand) {
  EXPECT_EQ(TickLabel(0, 2e6, true), "0");
  EXPECT_EQ(TickLabel(2e6, 2e6, true), "2M");
  EXPECT_EQ(TickLabel(10e6, 2e6, true), "10M");
  EXPECT_EQ(TickLabel(1.5e6, 5e5, true), "1.5M");
  EXPECT_EQ(TickLabel(1e6, 5e5, true), "1.0M");
  EXPECT_EQ(TickLabel(5e5, 5e5, true), "500k");
  EXPECT_EQ(TickLabel(60e3, 10e3, true), "60k");
  EXPECT_EQ(TickLabel(800, 200, true), "800");
  EXPECT_EQ(TickLabel(1200, 200, false), "1200");
  EXPECT_EQ(TickLabel(0.6, 0.2, false), "0.6");
  EXPECT_EQ(TickLabel(1, 0.2, false), "1.0");
  EXPECT_EQ(TickLabel(0, 0.2, false), "0.0");
  EXPECT_EQ(TickLabel(-0.0, 0.2, false), "0.0");
  EXPECT_EQ(TickLabel(0.05, 0.05, false), "0.05");
  EXPECT_EQ(TickLabel(-50, 50, false), "-50");
}

TEST(CurvesLayout, PlotAreasByHand) {
  // 1200 x 700 with a title: a 40 px band, then cells of 1200 / 3 = 400 by
  // (700 - 40) / 2 = 330; less 60 left, 16 right, 30 above, 44 below.
  PlotConfig config;
  config.title = "run";
  const Rect p0 = PlotArea(0, config);
  EXPECT_EQ(p0.x, 60);
  EXPECT_EQ(p0.y, 70);
  EXPECT_EQ(p0.w, 324);
  EXPECT_EQ(p0.h, 256);
  const Rect p5 = PlotArea(5, config);  // bottom row, third column
  EXPECT_EQ(p5.x, 860);
  EXPECT_EQ(p5.y, 400);  // 40 + 330 + 30
  EXPECT_EQ(p5.w, 324);
  EXPECT_EQ(p5.h, 256);
  // No title: a 10 px band, cells (700 - 10) / 2 = 345 high. 1000 wide: 333 px cells.
  config.title = "";
  config.width = 1000;
  const Rect p1 = PlotArea(1, config);
  EXPECT_EQ(p1.x, 393);  // 333 + 60
  EXPECT_EQ(p1.y, 40);
  EXPECT_EQ(p1.w, 257);
  EXPECT_EQ(p1.h, 271);
}

TEST(CurvesLayout, SuccessPanelMapsOneToTheTopRow) {
  PlotConfig config;
  config.title = "run";
  const Rect a = PlotArea(0, config);  // y from 70 (top) to 326, x from 60 to 384
  EXPECT_EQ(MapToPixel(1.0, 0, 1, a.bottom(), a.y), 70);
  EXPECT_EQ(MapToPixel(0.0, 0, 1, a.bottom(), a.y), 326);
  EXPECT_EQ(MapToPixel(0.25, 0, 1, a.bottom(), a.y), 262);   // 326 - 256 / 4
  EXPECT_EQ(MapToPixel(5e6, 0, 10e6, a.x, a.right()), 222);  // 60 + 324 / 2
  EXPECT_EQ(MapToPixel(-100, -100, 150, a.bottom(), a.y), 326);
  EXPECT_EQ(MapToPixel(150, -100, 150, a.bottom(), a.y), 70);
}

// A PNG read back with cairo, as 0x00RRGGBB.
struct Image {
  int width = 0, height = 0;
  std::vector<uint32_t> pixels;
  Rgb8 At(int x, int y) const {
    const uint32_t p = pixels[static_cast<size_t>(y) * width + x];
    return Rgb8{static_cast<uint8_t>(p >> 16), static_cast<uint8_t>(p >> 8),
                static_cast<uint8_t>(p)};
  }
};

Image ReadPng(const std::string& path) {
  cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
  Image image;
  if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
    image.width = cairo_image_surface_get_width(s);
    image.height = cairo_image_surface_get_height(s);
    const int stride = cairo_image_surface_get_stride(s);
    const unsigned char* data = cairo_image_surface_get_data(s);
    for (int y = 0; y < image.height; ++y) {
      const uint32_t* row = reinterpret_cast<const uint32_t*>(data + y * stride);
      for (int x = 0; x < image.width; ++x) image.pixels.push_back(row[x] & 0xffffff);
    }
  }
  cairo_surface_destroy(s);
  return image;
}

bool Same(Rgb8 a, Rgb8 b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

Rgb8 ColorOf(const std::string& series) { return FindSeries(series)->color; }

// Pixels of exactly `color` in `r` (whole pixels inside it).
int Count(const Image& image, const Rect& r, Rgb8 color) {
  int n = 0;
  for (int y = static_cast<int>(r.y); y < static_cast<int>(r.bottom()); ++y) {
    for (int x = static_cast<int>(r.x); x < static_cast<int>(r.right()); ++x) {
      n += Same(image.At(x, y), color);
    }
  }
  return n;
}

// The whole panel: plot area and margins (title, legend, tick labels).
Rect Cell(int panel, const PlotConfig& config) {
  const Rect a = PlotArea(panel, config);
  return Rect{a.x - kMarginLeft, a.y - kMarginTop, a.w + kMarginLeft + kMarginRight,
              a.h + kMarginTop + kMarginBottom};
}

// `series` at 11 evaluations 24 s and 1M steps apart, value(i) for i = 0..10.
template <typename F>
void AddRamp(Curves* curves, const std::string& series, F value) {
  for (int i = 0; i <= 10; ++i) (*curves)[series].push_back(Sample{24.0 * i, 1e6 * i, value(i)});
}

Image Render(const Curves& curves, const PlotConfig& config) {
  TempDir dir;
  RenderCurves(curves, config, dir / "curves.png");
  return ReadPng(dir / "curves.png");
}

TEST(CurvesRender, SeriesLandInTheirOwnPanels) {
  Curves curves;
  AddRamp(&curves, "eval_success", [](int i) { return 0.1 * i; });
  AddRamp(&curves, "lag_mean", [](int i) { return 1.0 + 0.05 * (i % 2); });
  PlotConfig config;
  config.width = 900;
  config.height = 600;
  config.title = "ramp";
  const Image image = Render(curves, config);
  ASSERT_EQ(image.width, 900);
  ASSERT_EQ(image.height, 600);
  const Rgb8 eval = ColorOf("eval_success"), lag = ColorOf("lag_mean");
  EXPECT_GT(Count(image, PlotArea(0, config), eval), 100);
  EXPECT_GT(Count(image, PlotArea(1, config), eval), 100);
  EXPECT_EQ(Count(image, PlotArea(2, config), eval), 0);
  EXPECT_GT(Count(image, PlotArea(2, config), lag), 100);
  EXPECT_EQ(Count(image, PlotArea(0, config), lag), 0);
  // Above the plot areas: a legend swatch where a panel has two series, none with one.
  const auto above = [&](int panel) {
    const Rect a = PlotArea(panel, config);
    return Rect{a.x, a.y - kMarginTop, a.w, kMarginTop - 4};
  };
  EXPECT_GT(Count(image, above(0), eval), 20);
  EXPECT_EQ(Count(image, above(2), lag), 0);
}

// The rows of panel 0's column `x` drawn in the eval colour.
std::vector<int> EvalRows(const Image& image, const PlotConfig& config, int x) {
  const Rect cell = Cell(0, config);
  std::vector<int> rows;
  for (int y = static_cast<int>(cell.y); y < static_cast<int>(cell.bottom()); ++y) {
    if (Same(image.At(x, y), ColorOf("eval_success"))) rows.push_back(y);
  }
  return rows;
}

TEST(CurvesRender, SuccessOfOneIsTheTopRowAndZeroTheBottom) {
  PlotConfig config;
  config.title = "constant";
  const Rect a = PlotArea(0, config);
  const int mid = static_cast<int>(a.x + a.w / 2);
  for (double value : {1.0, 0.0}) {
    Curves curves;
    AddRamp(&curves, "eval_success", [&](int) { return value; });
    const std::vector<int> rows = EvalRows(Render(curves, config), config, mid);
    ASSERT_FALSE(rows.empty()) << value;
    const double want = value == 1.0 ? a.y : a.bottom();
    EXPECT_GE(rows.front(), want - 2) << value;
    EXPECT_LE(rows.back(), want + 2) << value;
  }
}

TEST(CurvesRender, EmptyPanelsSayNoDataAndHoldNoSeriesColour) {
  Curves curves;
  AddRamp(&curves, "eval_success", [](int i) { return 0.1 * i; });
  const PlotConfig config;
  const Image image = Render(curves, config);
  for (int panel : {2, 3, 4, 5}) {  // lag, return, return, throughput
    for (const SeriesInfo& s : kCurveSeries) {
      EXPECT_EQ(Count(image, Cell(panel, config), s.color), 0) << panel << " " << s.name;
    }
    // "no data" is the only thing drawn in the middle of an empty plot area.
    const Rect a = PlotArea(panel, config);
    const Rect middle{a.x + a.w / 4, a.y + a.h / 4, a.w / 2, a.h / 2};
    EXPECT_LT(Count(image, middle, Rgb8{255, 255, 255}), static_cast<int>(middle.w * middle.h))
        << panel;
  }
  EXPECT_GT(Count(image, PlotArea(0, config), ColorOf("eval_success")), 100);
}

TEST(CurvesRender, NarrowPanelsPutTheLegendWhereTheLinesAreNot) {
  // 720 px: plot areas 164 px wide, too narrow for the title and the legend side by side,
  // so the legend (118 px) goes in a corner of the plot area.
  PlotConfig config;
  config.width = 720;
  config.height = 420;
  const Rect a = PlotArea(0, config);
  const Rect top{a.x, a.y, a.w, a.h / 3}, bottom{a.x, a.bottom() - a.h / 3, a.w, a.h / 3};
  const Rgb8 eval = ColorOf("eval_success");
  for (double value : {0.1, 0.9}) {
    Curves curves;
    AddRamp(&curves, "eval_success", [&](int) { return value; });
    AddRamp(&curves, "train_landed", [&](int) { return value; });
    const Image image = Render(curves, config);
    // Lines low: the legend goes up (the lower right is tried first); high: down. The
    // swatch is then the only eval colour in that third.
    EXPECT_GT(Count(image, value < 0.5 ? top : bottom, eval), 20) << value;
    EXPECT_EQ(Count(image, Rect{a.x, a.y - kMarginTop, a.w, kMarginTop - 4}, eval), 0) << value;
  }
}

TEST(CurvesRender, OneSampleDrawsAMarker) {
  // x spans [0, 1M] (ticks of 200k), so the sample sits on the right edge, half way up.
  Curves curves;
  curves["eval_success"].push_back(Sample{30, 1e6, 0.5});
  const PlotConfig config;
  const Image image = Render(curves, config);
  const Rect a = PlotArea(0, config);
  EXPECT_TRUE(Same(image.At(static_cast<int>(a.right()) - 1, static_cast<int>(a.y + a.h / 2)),
                   ColorOf("eval_success")));
  EXPECT_GT(Count(image, PlotArea(0, config), ColorOf("eval_success")), 10);
}

TEST(CurvesRender, SameInputSameBytes) {
  Curves curves;
  AddRamp(&curves, "eval_success", [](int i) { return 0.1 * i; });
  AddRamp(&curves, "train_return", [](int i) { return -70.0 + 20.6 * i; });
  PlotConfig config;
  config.title = "twice";
  TempDir dir;
  RenderCurves(curves, config, dir / "a.png");
  RenderCurves(curves, config, dir / "b.png");
  const std::string a = ReadBytes(dir / "a.png");
  EXPECT_GT(a.size(), 1000u);
  EXPECT_EQ(a, ReadBytes(dir / "b.png"));
}

TEST(CurvesRender, FailedWriteThrowsAndLeavesNoTmp) {
  TempDir dir;
  const Curves curves;
  const std::string missing = dir / "no_such_dir/curves.png";
  EXPECT_THROW(RenderCurves(curves, PlotConfig{}, missing), std::runtime_error);
  // The tmp file is written, but the rename onto a non-empty directory fails.
  const std::string taken = dir / "taken";
  fs::create_directory(taken);
  WriteText(taken + "/x", "x");
  try {
    RenderCurves(curves, PlotConfig{}, taken);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(taken), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(taken + ".tmp"));
  EXPECT_TRUE(fs::exists(taken + "/x"));
}

TEST(CurvesRender, BadSizeNamesTheFlag) {
  PlotConfig config;
  config.width = 100;
  try {
    RenderCurves({}, config, "/tmp/unused.png");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--width"), std::string::npos) << e.what();
  }
}

struct RunResult {
  int exit_code = -1;
  std::string err;
};

// Runs hoverslam-plot with `args`; stderr captured.
RunResult RunPlot(std::vector<std::string> args) {
  TempDir dir;
  const std::string err_path = dir / "stderr";
  args.insert(args.begin(), HOVERSLAM_PLOT_BIN);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  RunResult run;
  if (rc != 0) return run;
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  run.err = ReadBytes(err_path);
  return run;
}

TEST(CurvesCli, WritesThePngAndWarnsOfUnknownSeries) {
  TempDir dir;
  const std::string csv = dir / "curves.csv", png = dir / "curves.png";
  WriteText(csv, kHeader + "20,1000000,eval_success,0.5\n20,1000000,future_metric,3\n");
  const RunResult run =
      RunPlot({"--csv", csv, "--out", png, "--title", "cli", "--width", "800", "--height", "500"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("future_metric"), std::string::npos) << run.err;
  const Image image = ReadPng(png);
  EXPECT_EQ(image.width, 800);
  EXPECT_EQ(image.height, 500);
  EXPECT_FALSE(fs::exists(png + ".tmp"));
}

TEST(CurvesCli, BadInputExitsTwoSayingWhere) {
  TempDir dir;
  const std::string csv = dir / "curves.csv", png = dir / "curves.png";
  WriteText(csv, kHeader + "1,2,eval_success,0\n1,2,eval_success,oops\n");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const Case cases[] = {
      {{"--csv", csv, "--out", png}, csv + ":3: value \"oops\""},
      {{"--csv", dir / "absent.csv", "--out", png}, dir / "absent.csv"},
      {{"--csv", csv, "--out", png, "--colour", "red"}, "--colour"},
      {{"--csv", csv, "--out", png, "--width", "wide"}, "--width"},
      {{"--csv", csv, "--out", png, "--height", "10"}, "--height"},
      {{"--csv", csv}, "--out"},
  };
  for (const Case& c : cases) {
    const RunResult run = RunPlot(c.args);
    EXPECT_EQ(run.exit_code, 2) << c.says << "\n" << run.err;
    EXPECT_NE(run.err.find(c.says), std::string::npos) << "stderr: " << run.err;
  }
  EXPECT_FALSE(fs::exists(png));
}

}  // namespace
}  // namespace hoverslam::eval
