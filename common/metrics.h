// Prometheus exposition shared by both binaries: one prometheus-cpp registry
// served as text on GET /metrics.
//
// The HTTP side is a small accept loop on a std::thread rather than
// prometheus-cpp's civetweb exposer: civetweb starts its threads with a fixed
// 100 KB stack, which cannot hold LibTorch's static thread-local storage, so in
// the learner pthread_create fails with EINVAL.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/health.h"
#include "common/process_metrics.h"

namespace hoverslam {

// Thread-safe (prometheus-cpp metrics are). Serves /metrics, with the process_* metrics
// of this process (common/process_metrics.h) added to every scrape, and /healthz on
// bind:port (port 0: not served; bind "*" or "" is every IPv4 interface, else an
// IPv4/IPv6 address or a host name, e.g. 127.0.0.1 to keep metrics off the network);
// throws std::runtime_error naming the address if it cannot listen. /healthz answers
// 200 while heartbeat() was beaten within `health_timeout_s`, else 503.
class MetricsServer {
 public:
  explicit MetricsServer(int port, double health_timeout_s = kDefaultHealthTimeoutS,
                         const std::string& bind = kAllInterfaces);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  prometheus::Registry& registry() { return *registry_; }
  Heartbeat& heartbeat() { return heartbeat_; }
  // The exposition text a scrape returns.
  std::string Scrape() const;

  prometheus::Counter& Counter(const std::string& name, const std::string& help,
                               const prometheus::Labels& labels = {});
  prometheus::Gauge& Gauge(const std::string& name, const std::string& help,
                           const prometheus::Labels& labels = {});
  prometheus::Histogram& Histogram(const std::string& name, const std::string& help,
                                   const prometheus::Histogram::BucketBoundaries& buckets,
                                   const prometheus::Labels& labels = {});

 private:
  void Serve();
  void Answer(int client) const;

  std::shared_ptr<prometheus::Registry> registry_;
  ProcessCollector process_;
  Heartbeat heartbeat_;
  double health_timeout_s_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace hoverslam
