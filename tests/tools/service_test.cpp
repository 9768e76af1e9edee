// packaging/hookd.service run as systemd would run it, where systemd itself is not
// needed: its ExecStart (with the test's config) tells $NOTIFY_SOCKET READY=1 once it
// listens and STOPPING=1 on SIGTERM, as Type=notify expects.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::test {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A datagram socket bound to a path, as systemd's notification socket.
class notify_socket {
 public:
  explicit notify_socket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path_.c_str(), sizeof(a.sun_path) - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error("cannot bind " + path_);
    }
  }
  ~notify_socket() { ::close(fd_); }
  notify_socket(const notify_socket&) = delete;
  notify_socket& operator=(const notify_socket&) = delete;

  // The next message, or empty after `limit` (a safety net, not a synchronisation).
  std::string receive(int limit_ms = 20'000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, limit_ms) <= 0) return {};
    char buf[512];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(Service, TheUnitIsHardenedAndItsCommandNotifiesSystemd) {
  const std::string unit = read_file(std::string(HOOKD_SOURCE_DIR) + "/packaging/hookd.service");
  for (const char* line : {"Type=notify", "User=hookd", "StateDirectory=hookd",
                           "ProtectSystem=strict", "NoNewPrivileges=yes",
                           "ExecReload=/bin/kill -HUP $MAINPID", "WantedBy=multi-user.target"}) {
    EXPECT_NE(unit.find(std::string("\n") + line + "\n"), std::string::npos) << line;
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(unit, m, std::regex(R"(\nExecStart=(\S+) (.*)\n)")));
  EXPECT_EQ(m[1], "/usr/bin/hookd");
  std::istringstream words(m[2]);
  std::vector<std::string> argv = {HOOKD_BINARY};
  for (std::string w; words >> w;) argv.push_back(w);
  ASSERT_EQ(argv.back(), "/etc/hookd/hookd.toml");

  // The packaged configuration, with this test's folders and a free port.
  temp_dir dir;
  std::string config = read_file(std::string(HOOKD_SOURCE_DIR) + "/packaging/hookd.toml");
  config =
      std::regex_replace(config, std::regex("\nlisten = .*\n"), "\nlisten = \"127.0.0.1:0\"\n");
  config = std::regex_replace(config, std::regex("\ndata = .*\n"),
                              "\ndata = \"" + (dir / "data").string() + "\"\n");
  config = std::regex_replace(config, std::regex("\ntokens = .*\n"),
                              "\ntokens = \"" + (dir / "tokens").string() + "\"\n");
  config = std::regex_replace(config, std::regex("\nmin_free_space = .*\n"), "\n");
  std::ofstream(dir / "tokens") << "acme:tok\n";
  std::ofstream(dir / "hookd.toml") << config;
  argv.back() = (dir / "hookd.toml").string();

  notify_socket notify((dir / "notify").string());
  child_process hookd(argv, {"NOTIFY_SOCKET=" + (dir / "notify").string()},
                      (dir / "stderr.log").string());
  auto line = hookd.read_line();
  ASSERT_TRUE(line.has_value()) << read_file((dir / "stderr.log").string());
  EXPECT_TRUE(line->starts_with("hookd listening on http://127.0.0.1:")) << *line;
  const std::string ready = notify.receive();
  EXPECT_TRUE(ready.starts_with("READY=1\n")) << ready;
  EXPECT_NE(ready.find("STATUS=listening on 127.0.0.1:"), std::string::npos) << ready;

  hookd.signal(SIGTERM);
  EXPECT_EQ(notify.receive(), "STOPPING=1");
  EXPECT_EQ(hookd.wait(), 0) << read_file((dir / "stderr.log").string());
}

}  // namespace
}  // namespace hookd::test
