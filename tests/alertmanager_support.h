// A real Alertmanager (Debian package prometheus-alertmanager) for the
// end-to-end tests: started on a free loopback port with its state in a
// temporary directory, stopped by its pid.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "e2e_support.h"

namespace keel::e2e {

using nlohmann::json;

inline constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";

// A free loopback port (Alertmanager takes no port 0 it would report): one
// the kernel picks, closed again before Alertmanager binds it.
inline int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return 0;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Alertmanager on 127.0.0.1:port, clustering off, state in `dir`; stopped
// by its pid.
class Alertmanager {
 public:
  explicit Alertmanager(const testing::TempDir& dir) : port_(freePort()) {
    std::string config = dir.file("alertmanager.yml");
    std::ofstream(config) << "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n";
    std::string log = dir.file("alertmanager.log");
    std::vector<std::string> args = {
        kAlertmanager, "--config.file=" + config, "--storage.path=" + dir.file("am-data"),
        "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--cluster.listen-address="};
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Alertmanager() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  httplib::Client client() const { return httplib::Client("127.0.0.1", port_); }
  bool ready() const {
    auto res = client().Get("/-/ready");
    return res && res->status == 200;
  }
  // The alerts Alertmanager holds as active, KeelIncident only.
  json activeAlerts() const {
    auto res = client().Get("/api/v2/alerts?active=true&silenced=false&inhibited=false");
    if (!res || res->status != 200) return json::array();
    json all = json::parse(res->body, nullptr, false);
    json out = json::array();
    if (!all.is_array()) return out;
    for (const auto& a : all)
      if (a["labels"].value("alertname", "") == "KeelIncident" &&
          a["status"].value("state", "") == "active")
        out.push_back(a);
    return out;
  }

 private:
  int port_;
  pid_t pid_ = -1;
};

}  // namespace keel::e2e
