// Test support: child processes, free ports, a plain HTTP GET, polling with a
// deadline. Header-only; POSIX.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace hoverslam::testing {

inline double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Calls `done` until it returns true or `timeout_s` passes; returns its last answer.
inline bool PollUntil(double timeout_s, const std::function<bool()>& done) {
  const double deadline = Seconds() + timeout_s;
  while (Seconds() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // poll interval, not a wait
  }
  return done();
}

// A TCP port that was free a moment ago (the kernel's pick for port 0), and not one this
// process was given before: the kernel may pick a just-closed port again, and two servers of
// one test handed the same port would fail on start ("ports must differ").
inline int FreePort() {
  static std::mutex mutex;
  static std::set<int> given;
  const std::lock_guard<std::mutex> lock(mutex);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(fd);
      throw std::runtime_error("no free port");
    }
    close(fd);
    const int port = ntohs(addr.sin_port);
    if (given.insert(port).second) return port;
  }
  throw std::runtime_error("no free port not given before");
}

struct HttpResponse {
  int status = 0;
  std::string body;
};

// GET http://127.0.0.1:port/path, or nullopt if nothing answers.
inline std::optional<HttpResponse> HttpFetch(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return std::nullopt;
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (send(fd, request.data(), request.size(), 0) < 0) {
    close(fd);
    return std::nullopt;
  }
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) response.append(buf, n);
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  // "HTTP/1.0 200 OK": the status follows the first space.
  const size_t space = response.find(' ');
  if (body == std::string::npos || space == std::string::npos) return std::nullopt;
  return HttpResponse{std::atoi(response.c_str() + space + 1), response.substr(body + 4)};
}

// The body of GET http://127.0.0.1:port/path, or nullopt if nothing answers.
inline std::optional<std::string> HttpGet(int port, const std::string& path) {
  std::optional<HttpResponse> r = HttpFetch(port, path);
  if (!r) return std::nullopt;
  return r->body;
}

// The HTTP status of GET /healthz, or 0 if nothing answers.
inline int HealthStatus(int port) {
  const std::optional<HttpResponse> r = HttpFetch(port, "/healthz");
  return r ? r->status : 0;
}

// Whether /healthz answers 200 at every check for `seconds`: a property over time
// (a process waiting on a peer must stay healthy well past its health timeout).
inline bool StaysHealthy(int port, double seconds) {
  const double end = Seconds() + seconds;
  while (Seconds() < end) {
    if (HealthStatus(port) != 200) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // sampling period
  }
  return true;
}

// A child process, killed (SIGKILL) on destruction if still running.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log_path) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  }
  ~Child() {
    if (pid_ > 0 && !exit_status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  void Signal(int sig) const { kill(pid_, sig); }

  // The exit status if it exits within `timeout_s` (-signal if killed), else nullopt.
  std::optional<int> Wait(double timeout_s) {
    PollUntil(timeout_s, [&] {
      int status = 0;
      if (!exit_status_ && waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      }
      return exit_status_.has_value();
    });
    return exit_status_;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

}  // namespace hoverslam::testing
