// Stopping the hookd binary while receivers hang: SIGTERM is obeyed within
// --shutdown-grace, not the attempt timeout, and the deliveries it cut go out after
// the restart.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/receiver.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class Shutdown : public ::testing::Test {
 protected:
  std::unique_ptr<child_process> serve() {
    std::vector<std::string> argv = {HOOKD_BINARY,
                                     "serve",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--data",
                                     (dir_ / "data").string(),
                                     "--allow-private-targets",
                                     "--attempt-timeout",
                                     "60s",
                                     "--retry-schedule",
                                     "50ms,50ms,50ms",
                                     "--shutdown-grace",
                                     "500ms"};
    auto p = std::make_unique<child_process>(
        argv, std::vector<std::string>{"HOOKD_TOKENS=acme:tok"}, (dir_ / "stderr.log").string());
    auto line = p->read_line();
    std::smatch m;
    if (!line ||
        !std::regex_match(*line, m, std::regex(R"(hookd listening on http://[^:]+:(\d+))"))) {
      ADD_FAILURE() << "hookd did not start: " << stderr_log();
      return p;
    }
    port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    return p;
  }

  std::string stderr_log() const {
    std::ifstream in(dir_ / "stderr.log");
    return {std::istreambuf_iterator<char>(in), {}};
  }

  http_response call(const std::string& method, const std::string& target,
                     const std::string& body = {}, const std::string& token = "tok") {
    http_client c("127.0.0.1", port_);
    return c.request(method, target, body, {{"X-Token", token}});
  }

  temp_dir dir_;
  std::uint16_t port_ = 0;
};

TEST_F(Shutdown, SigtermWithHangingReceiversExitsWithinTheGraceAndCutWorkGoesOutAfter) {
  // The receiver hangs (accepts, never answers) until the restart, then answers 200;
  // the responder notes which deliveries it answered.
  std::atomic<bool> hanging{true};
  std::mutex answered_mutex;
  std::set<std::string> answered;
  receiver rx;
  rx.set_responder([&](const received_request& r) {
    reply out;
    if (hanging) {
      out.never_answer = true;
    } else {
      std::lock_guard lock(answered_mutex);
      answered.insert(r.header("webhook-id"));
    }
    return out;
  });
  auto first = serve();
  auto created = call("POST", "/api/v1/webhooks",
                      R"({"webhook": {"name": "h", "active": true, "settings": )"
                      R"({"customer_created": true}, "url": ")" +
                          rx.url() + R"(", "http_method": "POST"}})");
  ASSERT_EQ(created.status, 201u) << created.body;
  constexpr std::size_t k_events = 20;
  for (std::size_t i = 0; i < k_events; ++i) {
    auto r = call(
        "POST", "/api/v1/events",
        R"({"event": {"type": "customer_created", "payload": {"i": )" + std::to_string(i) + "}}}");
    ASSERT_EQ(r.status, 202u) << r.body;
  }
  // Every delivery is on the wire, waiting on a receiver that does not answer.
  rx.wait_for_requests(k_events);

  const auto signalled = std::chrono::steady_clock::now();
  first->signal(SIGTERM);
  EXPECT_EQ(first->wait(), 0) << stderr_log();
  const auto took = std::chrono::steady_clock::now() - signalled;
  // The grace is 0.5 s and the attempt timeout 60 s: what matters is which one the
  // stop obeyed; the margin is for a slow (sanitized) build.
  EXPECT_LT(took, 10s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                       << " ms";

  // The cut deliveries were kept pending: after the restart each is delivered once.
  hanging = false;
  auto second = serve();
  rx.wait_for_requests(2 * k_events);
  {
    std::lock_guard lock(answered_mutex);
    EXPECT_EQ(answered.size(), k_events);
  }
  second->signal(SIGTERM);
  EXPECT_EQ(second->wait(), 0) << stderr_log();
}

}  // namespace
}  // namespace hookd::test
