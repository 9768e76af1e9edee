// The client commands of the hookd binary (`hookd webhooks|events|deliveries ...`)
// against a real `hookd serve` delivering to a local receiver: every command, its
// table and --json output, and its exit codes (1 the API refused, 2 bad usage, 3 the
// server cannot be reached) with the API's own words on stderr.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/receiver.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// The value of the "key: value" line of a key/value listing; empty when missing.
std::string value_of(const std::string& listing, const std::string& key) {
  std::istringstream in(listing);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(key + ":")) {
      const auto start = line.find_first_not_of(' ', key.size() + 1);
      return start == std::string::npos ? std::string() : line.substr(start);
    }
  }
  return {};
}

// The data rows of a table (its header line left out), split on runs of spaces.
std::vector<std::vector<std::string>> rows_of(const std::string& table) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(table);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::istringstream words(line);
    for (std::string w; words >> w;) cells.push_back(w);
    rows.push_back(std::move(cells));
  }
  return rows;
}

class CliClient : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<child_process>(
        std::vector<std::string>{HOOKD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data",
                                 (dir_ / "data").string(), "--allow-private-targets"},
        std::vector<std::string>{"HOOKD_TOKENS=acme:tok"}, (dir_ / "stderr.log").string());
    auto line = server_->read_line();
    std::smatch m;
    ASSERT_TRUE(line &&
                std::regex_match(*line, m, std::regex(R"(hookd listening on http://[^:]+:(\d+))")))
        << "hookd did not start: " << stderr_log();
    port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    url_ = "http://127.0.0.1:" + std::to_string(port_);
  }

  std::string stderr_log() const {
    std::ifstream in(dir_ / "stderr.log");
    return {std::istreambuf_iterator<char>(in), {}};
  }

  // `hookd ARGS --server URL --token tok`.
  run_result cli(std::vector<std::string> args) const {
    args.insert(args.begin(), HOOKD_BINARY);
    args.insert(args.end(), {"--server", url_, "--token", "tok"});
    return run_command(std::move(args));
  }

  // The API's own answer to a request, to compare the CLI's words with.
  json::object api(const std::string& method, const std::string& target,
                   const std::string& body = {}) const {
    http_client c("127.0.0.1", port_);
    return json::parse(c.request(method, target, body, {{"X-Token", "tok"}}).body).as_object();
  }

  // Runs `args` until a table row has `status` in column 1, or 30 s pass; the rows.
  std::vector<std::vector<std::string>> poll_deliveries(const std::string& webhook,
                                                        const std::string& status) const {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    std::vector<std::vector<std::string>> rows;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = cli({"deliveries", "list", "--webhook", webhook, "--status", status});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      rows = rows_of(r.out);
      if (!rows.empty()) return rows;
    }
    ADD_FAILURE() << "no " << status << " delivery within 30 s; hookd's log:\n" << stderr_log();
    return rows;
  }

  temp_dir dir_;
  std::unique_ptr<child_process> server_;
  std::uint16_t port_ = 0;
  std::string url_;
  receiver receiver_;
};

TEST_F(CliClient, EveryCommandWorksAgainstARunningServer) {
  // create: key/value lines with the signing secret.
  auto created = cli({"webhooks", "create", "--name", "orders", "--url", receiver_.url(),
                      "--events", "customer_created,customer_state_changed", "--active", "true",
                      "--retry-schedule", "10ms"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string id = value_of(created.out, "id");
  ASSERT_FALSE(id.empty()) << created.out;
  const std::string first_secret = value_of(created.out, "secret");
  EXPECT_TRUE(first_secret.starts_with("whsec_")) << created.out;
  EXPECT_EQ(value_of(created.out, "events"), "customer_created,customer_state_changed");

  // list: an aligned table, and the API's JSON.
  auto listed = cli({"webhooks", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(listed.out.starts_with("ID  NAME    METHOD  URL")) << listed.out;
  const std::vector<std::string> row = {
      id, "orders", "POST", receiver_.url(), "true", "customer_created,customer_state_changed"};
  ASSERT_EQ(rows_of(listed.out), std::vector<std::vector<std::string>>{row}) << listed.out;
  auto listed_json = cli({"webhooks", "list", "--json"});
  ASSERT_EQ(listed_json.exit_code, 0) << listed_json.err;
  auto doc = json::parse(listed_json.out);
  ASSERT_EQ(doc.at("webhooks").as_array().size(), 1u);
  EXPECT_EQ(doc.at("webhooks").at(0).at("name"), json::value("orders"));
  EXPECT_TRUE(doc.at("next_after").is_null());
  // One page: the API's answer as returned.
  auto page = cli({"webhooks", "list", "--limit", "1", "--json"});
  ASSERT_EQ(page.exit_code, 0) << page.err;
  EXPECT_EQ(json::parse(page.out), json::value(api("GET", "/api/v1/webhooks?limit=1")));

  // show, update, rotate-secret.
  auto shown = cli({"webhooks", "show", id});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(value_of(shown.out, "name"), "orders");
  EXPECT_EQ(value_of(shown.out, "secret"), "") << "show printed the secret";
  auto updated = cli({"webhooks", "update", id, "--name", "orders-v2"});
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_EQ(value_of(updated.out, "name"), "orders-v2");
  EXPECT_EQ(value_of(updated.out, "url"), receiver_.url()) << "update changed another field";
  auto rotated = cli({"webhooks", "rotate-secret", id, "--grace", "0s"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  const std::string second_secret = value_of(rotated.out, "secret");
  EXPECT_TRUE(second_secret.starts_with("whsec_")) << rotated.out;
  EXPECT_NE(second_secret, first_secret);

  // publish → a succeeded delivery, its attempts, a retry.
  auto published = cli({"events", "publish", "customer_created", "--payload",
                        R"({"customer": {"id": 17}})", "--id", "order-17"});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  EXPECT_EQ(value_of(published.out, "id"), "order-17");
  EXPECT_EQ(value_of(published.out, "deliveries"), "1");
  auto succeeded = poll_deliveries(id, "succeeded");
  ASSERT_EQ(succeeded.size(), 1u);
  const std::string uuid = succeeded[0][0];
  EXPECT_EQ(succeeded[0][2], "1") << "attempts";
  auto delivery = cli({"deliveries", "show", uuid});
  ASSERT_EQ(delivery.exit_code, 0) << delivery.err;
  EXPECT_EQ(value_of(delivery.out, "status"), "succeeded");
  EXPECT_EQ(value_of(delivery.out, "event_id"), "order-17");
  EXPECT_NE(delivery.out.find("\nattempts:\n#  AT"), std::string::npos) << delivery.out;
  EXPECT_TRUE(std::regex_search(delivery.out, std::regex(R"(\n1 +\S+ +200 +\d+ms +false +-\n)")))
      << delivery.out;
  auto retried = cli({"deliveries", "retry", uuid});
  ASSERT_EQ(retried.exit_code, 0) << retried.err;
  EXPECT_EQ(value_of(retried.out, "uuid"), uuid);
  receiver_.wait_for_requests(2);
  EXPECT_EQ(json::parse(receiver_.requests()[0].body).at("customer").at("id"), json::value(17));

  // A failing receiver: the delivery fails after its one retry; recover sends it again.
  receiver_.set_responder([](const received_request&) {
    reply r;
    r.status = 500;
    return r;
  });
  auto second = cli({"events", "publish", "customer_state_changed"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  auto failed = poll_deliveries(id, "failed");
  ASSERT_EQ(failed.size(), 1u);
  // The statistics count what the log shows, the given-up delivery included.
  auto stats = cli({"webhooks", "stats", id, "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_EQ(json::parse(stats.out).at("totals").at("failed_deliveries"), json::value(1))
      << stats.out;
  auto table = cli({"webhooks", "stats", id, "--window", "24h"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_TRUE(table.out.starts_with("START  ")) << table.out;
  EXPECT_NE(table.out.find("\ntotal "), std::string::npos) << table.out;
  EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), 26)
      << "a header, 24 hours and the totals:\n"
      << table.out;
  const std::size_t before = receiver_.request_count();
  auto recovered = cli({"webhooks", "recover", id, "--since", "2000-01-01T00:00:00Z"});
  ASSERT_EQ(recovered.exit_code, 0) << recovered.err;
  EXPECT_EQ(recovered.out, "recovered 1 deliveries\n");
  receiver_.wait_for_requests(before + 1);

  // Every delivery, all statuses, as JSON; then delete.
  auto all = cli({"deliveries", "list", "--webhook", id, "--json"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(json::parse(all.out).at("deliveries").as_array().size(), 2u);
  auto deleted = cli({"webhooks", "delete", id});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, "deleted webhook " + id + "\n");
  EXPECT_EQ(cli({"webhooks", "show", id}).exit_code, 1);
}

TEST_F(CliClient, ListsFollowEveryPage) {
  // 501 webhooks: the CLI asks for pages of 500, so it must follow next_after once.
  http_client c("127.0.0.1", port_);
  for (int i = 0; i < 501; ++i) {
    const std::string body =
        R"({"webhook": {"name": "w)" + std::to_string(i) +
        R"(", "settings": {}, "url": "http://127.0.0.1:1/", "http_method": "POST"}})";
    ASSERT_EQ(c.request("POST", "/api/v1/webhooks", body, {{"X-Token", "tok"}}).status, 201u);
  }
  auto listed = cli({"webhooks", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(rows_of(listed.out).size(), 501u);
  auto one_page = cli({"webhooks", "list", "--limit", "2"});
  ASSERT_EQ(one_page.exit_code, 0) << one_page.err;
  EXPECT_EQ(rows_of(one_page.out).size(), 2u);
}

TEST_F(CliClient, AnApiErrorExitsOneWithTheApisWords) {
  auto missing = cli({"webhooks", "show", "999"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out, "");
  const auto expected = api("GET", "/api/v1/webhooks/999").at("error").as_object();
  EXPECT_EQ(missing.err,
            "hookd: not_found: " + std::string(expected.at("message").as_string()) + "\n");

  auto invalid =
      cli({"webhooks", "create", "--name", " ", "--url", "ftp://nope", "--events", "no_such_type"});
  EXPECT_EQ(invalid.exit_code, 1);
  const auto refusal =
      api("POST", "/api/v1/webhooks",
          R"({"webhook":{"name":" ","url":"ftp://nope","http_method":"POST","settings":{"no_such_type":true}}})")
          .at("error")
          .as_object();
  ASSERT_EQ(refusal.at("code"), json::value("validation_failed"));
  ASSERT_GE(refusal.at("details").as_array().size(), 2u) << json::serialize(refusal);
  EXPECT_TRUE(invalid.err.starts_with("hookd: validation_failed: ")) << invalid.err;
  for (const auto& d : refusal.at("details").as_array()) {
    const std::string line = "\n  " + std::string(d.at("field").as_string()) + ": " +
                             std::string(d.at("message").as_string()) + "\n";
    EXPECT_NE(invalid.err.find(line), std::string::npos) << line << " not in\n" << invalid.err;
  }

  auto no_token =
      run_command({HOOKD_BINARY, "webhooks", "list", "--server", url_}, {"HOOKD_TOKEN="});
  EXPECT_EQ(no_token.exit_code, 1);
  EXPECT_TRUE(no_token.err.starts_with("hookd: unauthorized: ")) << no_token.err;
  // HOOKD_TOKEN and HOOKD_SERVER stand in for the flags.
  auto from_env =
      run_command({HOOKD_BINARY, "webhooks", "list"}, {"HOOKD_TOKEN=tok", "HOOKD_SERVER=" + url_});
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;
}

TEST_F(CliClient, AnUnreachableServerExitsThreeNamingTheUrl) {
  // A port that was just free: nothing listens on it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  const std::string closed = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  auto r = run_command({HOOKD_BINARY, "webhooks", "list", "--server", closed, "--token", "tok"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("cannot reach " + closed + ": connect: "), std::string::npos) << r.err;
  auto publish = run_command(
      {HOOKD_BINARY, "events", "publish", "customer_created", "--server", closed, "--token", "t"});
  EXPECT_EQ(publish.exit_code, 3) << publish.err;
}

TEST_F(CliClient, BadUsageExitsTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {"webhooks"},
      {"webhooks", "frobnicate"},
      {"webhooks", "list", "--bogus"},
      {"webhooks", "show"},
      {"webhooks", "show", "1", "2"},
      {"webhooks", "create", "--active", "maybe"},
      {"webhooks", "create", "--name", "x", "--body", "{}"},
      {"webhooks", "update", "1"},
      {"webhooks", "recover", "1"},
      {"webhooks", "list", "--since", "2026-01-01T00:00:00Z"},
      {"events", "publish"},
      {"events", "publish", "customer_created", "--payload", "@/no/such/file"},
      {"deliveries", "list"},
      {"deliveries", "show", "x", "--webhook", "1"},
      {"webhooks", "list", "--server", "https://example.com"},
      {"webhooks", "list", "--server", "localhost:8080"},
  };
  for (auto args : bad) {
    std::string shown;
    for (const auto& a : args) shown += " " + a;
    args.insert(args.begin(), HOOKD_BINARY);
    auto r = run_command(args);
    EXPECT_EQ(r.exit_code, 2) << shown << "\n" << r.err;
    EXPECT_NE(r.err.find("--help' for usage"), std::string::npos) << shown << "\n" << r.err;
  }
}

TEST_F(CliClient, EveryLevelHasHelp) {
  auto main_help = run_command({HOOKD_BINARY, "--help"});
  EXPECT_EQ(main_help.exit_code, 0);
  for (const char* noun : {"webhooks list", "events publish", "deliveries list"}) {
    EXPECT_NE(main_help.out.find(noun), std::string::npos) << noun;
  }
  for (const char* noun : {"webhooks", "events", "deliveries"}) {
    auto help = run_command({HOOKD_BINARY, noun, "--help"});
    EXPECT_EQ(help.exit_code, 0) << noun;
    EXPECT_NE(help.out.find("Usage: hookd " + std::string(noun)), std::string::npos) << noun;
    EXPECT_NE(help.out.find("--server URL"), std::string::npos) << noun;
  }
  auto verb_help = run_command({HOOKD_BINARY, "webhooks", "rotate-secret", "--help"});
  EXPECT_EQ(verb_help.exit_code, 0);
  EXPECT_NE(verb_help.out.find("--grace"), std::string::npos);
}

}  // namespace
}  // namespace hookd::test
