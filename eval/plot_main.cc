// hoverslam-plot: draws a training run's learning curves (curves.csv, format in
// eval/curves.h) as a 2 x 3 grid of plots in a PNG. Exits 2 on a bad flag, an
// unreadable or malformed csv, or a PNG it cannot write.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "eval/curves.h"

int main(int argc, char** argv) {
  using namespace hoverslam::eval;
  std::string csv, out;
  PlotConfig config;
  CLI::App app{
      "hoverslam-plot: draws a training run's learning curves (success rate, policy lag, return "
      "and throughput against env steps and minutes) from curves.csv to a PNG."};
  app.add_option("--csv", csv, "curves.csv to read (elapsed_s,env_steps,series,value)")->required();
  app.add_option("--out", out, "PNG to write (via OUT.tmp and a rename)")->required();
  app.add_option("--width", config.width, "image width, px")->capture_default_str();
  app.add_option("--height", config.height, "image height, px")->capture_default_str();
  app.add_option("--title", config.title, "title above the plots");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is 0; CLI11's message names the flag
  }

  try {
    config.Validate();
    std::map<std::string, int> ignored;
    const Curves curves = ReadCurvesCsv(csv, &ignored);
    for (const auto& [series, rows] : ignored) {
      std::fprintf(stderr, "hoverslam-plot: %s: ignored %d rows of unknown series \"%s\"\n",
                   csv.c_str(), rows, series.c_str());
    }
    RenderCurves(curves, config, out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hoverslam-plot: %s\n", e.what());
    return 2;
  }
  return 0;
}
