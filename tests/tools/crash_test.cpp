// Crash safety of the hookd binary: events accepted before a kill -9 are all
// delivered after a restart, with the webhook-ids they had before the crash.
#include <signal.h>

#include <fstream>
#include <map>
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

class HookdProcess : public ::testing::Test {
 protected:
  std::unique_ptr<child_process> serve(const std::string& schedule = "50ms") {
    std::vector<std::string> argv = {HOOKD_BINARY,       "serve",  "--listen",
                                     "127.0.0.1:0",      "--data", (dir_ / "data").string(),
                                     "--threads",        "2",      "--allow-private-targets",
                                     "--retry-schedule", schedule};
    auto p = std::make_unique<child_process>(
        argv, std::vector<std::string>{"HOOKD_TOKENS=acme:tok"}, (dir_ / "stderr.log").string());
    auto line = p->read_line();
    if (!line) {
      std::ifstream in(dir_ / "stderr.log");
      ADD_FAILURE() << "hookd did not start: "
                    << std::string(std::istreambuf_iterator<char>(in), {});
      return p;
    }
    std::smatch m;
    EXPECT_TRUE(
        std::regex_match(*line, m, std::regex(R"(hookd listening on http://127\.0\.0\.1:(\d+))")));
    port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    return p;
  }

  http_response call(const std::string& method, const std::string& target,
                     const std::string& body = {}, header_list headers = {}) {
    headers.emplace_back("X-Token", "tok");
    return http_client("127.0.0.1", port_).request(method, target, body, headers);
  }

  temp_dir dir_;
  std::uint16_t port_ = 0;
};

TEST_F(HookdProcess, KillNineLosesNoAcceptedEvent) {
  receiver rx;
  // While hookd runs the first time, the receiver takes requests and never answers.
  std::atomic<bool> answering{false};
  rx.set_responder([&](const received_request&) {
    reply r;
    r.never_answer = !answering;
    return r;
  });

  auto first = serve();
  auto created =
      call("POST", "/api/v1/webhooks",
           R"({"webhook": {"name": "crash", "active": true, "settings": {"customer_created": true},
                          "url": ")" +
               rx.url() + R"(", "http_method": "POST"}})");
  ASSERT_EQ(created.status, 201u) << created.body;
  constexpr std::size_t k_n = 20;
  for (std::size_t i = 0; i < k_n; ++i) {
    auto r = call(
        "POST", "/api/v1/events",
        R"({"event": {"type": "customer_created", "payload": {"n": )" + std::to_string(i) + "}}}");
    ASSERT_EQ(r.status, 202u) << r.body;
    EXPECT_EQ(json::parse(r.body).at("event").at("deliveries").to_number<int>(), 1);
  }
  rx.wait_for_requests(k_n);  // all in flight, none answered
  std::set<std::string> before;
  for (const auto& r : rx.requests()) before.insert(r.header("webhook-id"));
  ASSERT_EQ(before.size(), k_n);

  first->signal(SIGKILL);
  EXPECT_EQ(first->wait(), 128 + SIGKILL);

  answering = true;
  auto second = serve();
  rx.wait_for_requests(2 * k_n);
  std::set<std::string> after;
  std::set<int> payloads;
  const auto requests = rx.requests();
  for (std::size_t i = k_n; i < requests.size(); ++i) {
    after.insert(requests[i].header("webhook-id"));
    payloads.insert(json::parse(requests[i].body).at("n").to_number<int>());
  }
  EXPECT_EQ(after, before);
  EXPECT_EQ(payloads.size(), k_n);
  second->signal(SIGTERM);
  EXPECT_EQ(second->wait(), 0);
}

TEST_F(HookdProcess, PendingRetriesSurviveKillNineWithTheirDueTimes) {
  receiver rx;
  rx.set_responder([](const received_request&) {
    reply r;
    r.status = 500;
    return r;
  });
  auto first = serve("1h");
  auto created =
      call("POST", "/api/v1/webhooks",
           R"({"webhook": {"name": "later", "active": true, "settings": {"customer_created": true},
                          "url": ")" +
               rx.url() + R"(", "http_method": "POST"}})");
  ASSERT_EQ(created.status, 201u);
  const std::string hook = std::to_string(json::parse(created.body).at("id").to_number<int>());
  constexpr std::size_t k_n = 3;
  for (std::size_t i = 0; i < k_n; ++i) {
    ASSERT_EQ(
        call("POST", "/api/v1/events", R"({"event": {"type": "customer_created", "payload": {}}})")
            .status,
        202u);
  }
  rx.wait_for_requests(k_n);
  // Read the log until all three failed attempts are written (bounded; each read is a
  // real request, no sleeping).
  std::map<std::string, std::string> due_before;
  for (int tries = 0; tries < 5000 && due_before.size() < k_n; ++tries) {
    due_before.clear();
    auto list = json::parse(call("GET", "/api/v1/webhooks/" + hook + "/deliveries").body);
    for (const auto& d : list.at("deliveries").as_array()) {
      if (d.at("attempt_count").to_number<int>() == 1 && d.at("status").as_string() == "pending") {
        due_before[std::string(d.at("uuid").as_string())] =
            std::string(d.at("next_attempt_at").as_string());
      }
    }
  }
  ASSERT_EQ(due_before.size(), k_n);

  first->signal(SIGKILL);
  first->wait();
  auto second = serve("1h");
  auto list = json::parse(call("GET", "/api/v1/webhooks/" + hook + "/deliveries").body);
  std::map<std::string, std::string> due_after;
  for (const auto& d : list.at("deliveries").as_array()) {
    EXPECT_EQ(d.at("status").as_string(), "pending");
    due_after[std::string(d.at("uuid").as_string())] =
        std::string(d.at("next_attempt_at").as_string());
  }
  EXPECT_EQ(due_after, due_before);

  // No retry due in an hour goes out after the restart. To make that observable, one
  // more event goes to the same webhook: its worker runs the recovery claim before it
  // takes the new delivery, so once that one arrived, an early retry would have been
  // started too; SIGTERM then lets every started attempt finish before the count.
  ASSERT_EQ(
      call("POST", "/api/v1/events", R"({"event": {"type": "customer_created", "payload": {}}})")
          .status,
      202u);
  rx.wait_for_requests(k_n + 1);
  second->signal(SIGTERM);
  EXPECT_EQ(second->wait(), 0);
  std::set<std::string> ids;
  for (const auto& r : rx.requests()) ids.insert(r.header("webhook-id"));
  EXPECT_EQ(rx.request_count(), k_n + 1) << "a retry due in an hour went out after the restart";
  EXPECT_EQ(ids.size(), k_n + 1);
}

TEST_F(HookdProcess, EventsApiPublishesAndDeliveriesApiShowsTheOutcome) {
  receiver rx;
  auto server = serve();
  auto created =
      call("POST", "/api/v1/webhooks",
           R"({"webhook": {"name": "api", "active": true, "settings": {"customer_created": true},
                          "url": ")" +
               rx.url() + R"(", "http_method": "POST"}})");
  ASSERT_EQ(created.status, 201u);
  const auto hook = json::parse(created.body).at("id").to_number<std::uint64_t>();

  auto published = call("POST", "/api/v1/events",
                        R"({"event": {"type": "customer_created", "payload": {"x": 1}}})",
                        {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(published.status, 202u) << published.body;
  EXPECT_EQ(
      json::parse(published.body),
      json::parse(R"({"event": {"id": "k-1", "type": "customer_created", "deliveries": 1}})"));
  auto repeated = call("POST", "/api/v1/events",
                       R"({"event": {"type": "customer_created", "payload": {"x": 2}}})",
                       {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(repeated.status, 202u);
  EXPECT_EQ(repeated.body, published.body);

  rx.wait_for_requests(1);
  const std::string uuid = rx.requests()[0].header("webhook-id");
  // Stop hookd so the outcome is written, then read it through the API of a new run.
  server->signal(SIGTERM);
  ASSERT_EQ(server->wait(), 0);
  server = serve();

  auto one = call("GET", "/api/v1/deliveries/" + uuid);
  ASSERT_EQ(one.status, 200u) << one.body;
  auto d = json::parse(one.body);
  EXPECT_EQ(d.at("uuid").as_string(), uuid);
  EXPECT_EQ(d.at("webhook_id").to_number<std::uint64_t>(), hook);
  EXPECT_EQ(d.at("event_id").as_string(), "k-1");
  EXPECT_EQ(d.at("event_type").as_string(), "customer_created");
  EXPECT_EQ(d.at("status").as_string(), "succeeded");
  ASSERT_EQ(d.at("attempts").as_array().size(), 1u);
  const auto& a = d.at("attempts").as_array()[0];
  for (const char* key :
       {"number", "at", "duration_ms", "status_code", "error_kind", "error", "response_excerpt"}) {
    EXPECT_TRUE(a.as_object().contains(key)) << key;
  }
  EXPECT_EQ(a.at("status_code").to_number<int>(), 200);
  EXPECT_TRUE(a.at("error_kind").is_null());

  auto list =
      call("GET", "/api/v1/webhooks/" + std::to_string(hook) + "/deliveries?status=succeeded");
  ASSERT_EQ(list.status, 200u) << list.body;
  auto l = json::parse(list.body);
  ASSERT_EQ(l.at("deliveries").as_array().size(), 1u);
  EXPECT_TRUE(l.at("next_after").is_null());
  auto none = json::parse(
      call("GET", "/api/v1/webhooks/" + std::to_string(hook) + "/deliveries?status=failed").body);
  EXPECT_TRUE(none.at("deliveries").as_array().empty());
  EXPECT_EQ(
      call("GET", "/api/v1/webhooks/" + std::to_string(hook) + "/deliveries?status=bogus").status,
      422u);
  EXPECT_EQ(call("GET", "/api/v1/deliveries/not-a-uuid").status, 404u);
  auto bad = call("POST", "/api/v1/events", R"({"event": {"type": "nope", "payload": []}})");
  EXPECT_EQ(bad.status, 422u);
  EXPECT_NE(bad.body.find("event.type"), std::string::npos);
  EXPECT_NE(bad.body.find("event.payload"), std::string::npos);
}

TEST_F(HookdProcess, EmbeddedExampleDeliversAnEvent) {
  receiver rx;
  auto r = run_command({EMBEDDED_EXAMPLE_BINARY, (dir_ / "embedded").string(), rx.url()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("succeeded"), std::string::npos) << r.out;
  ASSERT_EQ(rx.request_count(), 1u);
  auto body = json::parse(rx.requests()[0].body);
  EXPECT_EQ(body.at("customer").at("first_name").as_string(), "Ann");
  EXPECT_EQ(body.at("action").as_string(), "customer_created");
}

}  // namespace
}  // namespace hookd::test
