#include "common/metrics.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace hoverslam {
namespace {

constexpr int kPollMs = 200;      // how long shutdown can go unnoticed
constexpr int kRequestMs = 2000;  // a client must send its request within this
constexpr size_t kMaxRequest = 8192;

void SendAll(int fd, const std::string& data) {
  for (size_t sent = 0; sent < data.size();) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

}  // namespace

MetricsServer::MetricsServer(int port, double health_timeout_s, const std::string& bind)
    : registry_(std::make_shared<prometheus::Registry>()), health_timeout_s_(health_timeout_s) {
  if (port == 0) return;  // metrics kept but not served (benchmarks, embedded use)
  const bool all = bind.empty() || bind == kAllInterfaces;
  const std::string where = (all ? "*" : bind) + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = all ? AF_INET : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int rc =
          ::getaddrinfo(all ? nullptr : bind.c_str(), std::to_string(port).c_str(), &hints, &found);
      rc != 0) {
    throw std::runtime_error("cannot serve metrics on " + where + ": " + ::gai_strerror(rc) +
                             " (check --metrics-bind)");
  }
  listen_fd_ = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const bool bound = listen_fd_ >= 0 &&
                     ::bind(listen_fd_, found->ai_addr, found->ai_addrlen) == 0 &&
                     ::listen(listen_fd_, 16) == 0;
  const std::string why = std::strerror(errno);
  ::freeaddrinfo(found);
  if (!bound) {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    throw std::runtime_error("cannot serve metrics on " + where + ": " + why +
                             " (pick another with --metrics-port or --metrics-bind)");
  }
  thread_ = std::thread([this] { Serve(); });
}

MetricsServer::~MetricsServer() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::string MetricsServer::Scrape() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (prometheus::MetricFamily& f : process_.Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

void MetricsServer::Serve() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    Answer(client);
    ::close(client);
  }
}

// One request per connection (HTTP/1.0 style): enough for Prometheus, kubelet probes
// and curl.
void MetricsServer::Answer(int client) const {
  std::string request;
  char buf[1024];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequest) {
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, kRequestMs) <= 0) return;
    const ssize_t n = ::recv(client, buf, sizeof(buf), 0);
    if (n <= 0) return;
    request.append(buf, static_cast<size_t>(n));
  }
  const auto is = [&](const char* path) {
    const std::string get = std::string("GET ") + path;
    return request.rfind(get + " ", 0) == 0 || request.rfind(get + "?", 0) == 0;
  };
  std::string status = "200 OK", body;
  if (is("/metrics")) {
    body = Scrape();
  } else if (is("/healthz")) {
    const HealthReport health = CheckHealth(heartbeat_, health_timeout_s_);
    if (!health.healthy) status = "503 Service Unavailable";
    body = health.text;
  } else {
    status = "404 Not Found";
    body = "see /metrics or /healthz\n";
  }
  SendAll(client, "HTTP/1.0 " + status +
                      "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                      "Content-Length: " +
                      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}

// Families with the same name are shared: Register returns the existing one.
prometheus::Counter& MetricsServer::Counter(const std::string& name, const std::string& help,
                                            const prometheus::Labels& labels) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(*registry_).Add(labels);
}

prometheus::Gauge& MetricsServer::Gauge(const std::string& name, const std::string& help,
                                        const prometheus::Labels& labels) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add(labels);
}

prometheus::Histogram& MetricsServer::Histogram(
    const std::string& name, const std::string& help,
    const prometheus::Histogram::BucketBoundaries& buckets, const prometheus::Labels& labels) {
  return prometheus::BuildHistogram()
      .Name(name)
      .Help(help)
      .Register(*registry_)
      .Add(labels, buckets);
}

}  // namespace hoverslam
