// The hookd binary as an operator runs it: start, print the listening line, serve,
// stop on SIGTERM/SIGINT, and keep webhooks across restarts.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::test {
namespace {

namespace json = boost::json;

constexpr const char* k_sonar_example = R"({"webhook": {
  "name": "webhook to capture customer state changes", "active": "true",
  "settings": {"customer_state_changed": "true"},
  "url": "https://endpoint.com/catch-a-hook", "http_method": "POST"}})";

class HookdCli : public ::testing::Test {
 protected:
  // Starts `hookd serve` on a free port over the fixture's data folder and waits
  // for its "hookd listening on" line.
  std::unique_ptr<child_process> serve(std::vector<std::string> extra_args = {},
                                       std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {HOOKD_BINARY,  "serve",  "--listen",
                                     "127.0.0.1:0", "--data", (dir_ / "data").string()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    if (env.empty()) env = {"HOOKD_TOKENS=default:tok_dev"};
    auto p = std::make_unique<child_process>(argv, env, (dir_ / "stderr.log").string());
    auto line = p->read_line();
    if (!line) {
      ADD_FAILURE() << "hookd exited before listening; stderr:\n" << stderr_log();
      return p;
    }
    std::smatch m;
    EXPECT_TRUE(
        std::regex_match(*line, m, std::regex(R"(hookd listening on http://127\.0\.0\.1:(\d+))")))
        << *line;
    port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    return p;
  }

  std::string stderr_log() const {
    std::ifstream in(dir_ / "stderr.log");
    return {std::istreambuf_iterator<char>(in), {}};
  }

  http_response call(const std::string& method, const std::string& target,
                     const std::string& body = {}, const std::string& token = "tok_dev") {
    http_client c("127.0.0.1", port_);
    return c.request(method, target, body, {{"X-Token", token}});
  }

  temp_dir dir_;
  std::uint16_t port_ = 0;
};

TEST_F(HookdCli, ServesAndKeepsWebhooksAcrossRestart) {
  auto first = serve();
  auto created = call("POST", "/api/v1/webhooks", k_sonar_example);
  ASSERT_EQ(created.status, 201u) << created.body;
  auto v = json::parse(created.body);
  EXPECT_EQ(v.at("id").to_number<int>(), 1);
  EXPECT_EQ(v.at("active"), json::value(true));
  first->signal(SIGTERM);
  EXPECT_EQ(first->wait(), 0) << stderr_log();

  auto second = serve();
  auto list = json::parse(call("GET", "/api/v1/webhooks").body);
  ASSERT_EQ(list.at("webhooks").as_array().size(), 1u);
  EXPECT_EQ(list.at("webhooks").as_array()[0].at("name"), v.at("name"));
  // Ids continue after a restart; they are never reused.
  auto next = json::parse(call("POST", "/api/v1/webhooks", k_sonar_example).body);
  EXPECT_EQ(next.at("id").to_number<int>(), 2);
  second->signal(SIGINT);
  EXPECT_EQ(second->wait(), 0) << stderr_log();
}

TEST_F(HookdCli, CreatedTokenAuthenticatesAndIsStoredHashed) {
  const auto tokens = (dir_ / "tokens").string();
  auto created =
      run_command({HOOKD_BINARY, "token", "create", "--account", "acme", "--tokens", tokens});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::string token = created.out;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  ASSERT_FALSE(token.empty());
  std::ifstream in(tokens);
  const std::string file{std::istreambuf_iterator<char>(in), {}};
  EXPECT_EQ(file.find(token), std::string::npos) << "the clear token is in the tokens file";
  EXPECT_TRUE(file.starts_with("acme:sha256:"));

  auto server = serve({"--tokens", tokens}, {"HOOKD_TOKENS="});
  EXPECT_EQ(call("GET", "/api/v1/webhooks", {}, token).status, 200u);
  EXPECT_EQ(call("GET", "/api/v1/webhooks", {}, "tok_dev").status, 401u);
  // The token never appears in the logs.
  server->signal(SIGTERM);
  EXPECT_EQ(server->wait(), 0);
  EXPECT_EQ(stderr_log().find(token), std::string::npos);
}

TEST_F(HookdCli, ReadsListenAddressFromEnvironment) {
  std::vector<std::string> argv = {HOOKD_BINARY, "serve", "--data", (dir_ / "data").string()};
  child_process p(argv, {"HOOKD_LISTEN=127.0.0.1:0", "HOOKD_TOKENS=default:tok_dev"},
                  (dir_ / "stderr.log").string());
  auto line = p.read_line();
  ASSERT_TRUE(line) << stderr_log();
  EXPECT_TRUE(std::regex_match(*line, std::regex(R"(hookd listening on http://127\.0\.0\.1:\d+)")));
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0);
}

TEST_F(HookdCli, CustomEventCatalogReplacesSonarTypes) {
  const auto events = dir_ / "events";
  std::ofstream(events) << "# our events\norder_paid\n\norder_refunded\n";
  auto server = serve({"--events", events.string()});
  auto ok = call("POST", "/api/v1/webhooks",
                 R"({"webhook": {"name": "n", "settings": {"order_paid": "true"},
                    "url": "https://example.com", "http_method": "POST"}})");
  ASSERT_EQ(ok.status, 201u) << ok.body;
  EXPECT_EQ(json::parse(ok.body).at("settings"),
            json::parse(R"({"order_paid": true, "order_refunded": false})"));
  EXPECT_EQ(call("POST", "/api/v1/webhooks", k_sonar_example).status, 422u);
}

TEST_F(HookdCli, HelpDescribesEveryFlag) {
  auto main_help = run_command({HOOKD_BINARY, "--help"});
  EXPECT_EQ(main_help.exit_code, 0);
  EXPECT_NE(main_help.out.find("serve"), std::string::npos);
  EXPECT_NE(main_help.out.find("token create"), std::string::npos);

  auto serve_help = run_command({HOOKD_BINARY, "serve", "--help"});
  EXPECT_EQ(serve_help.exit_code, 0);
  for (const char* flag : {"--listen",
                           "--data",
                           "--threads",
                           "--tokens",
                           "--events",
                           "--fsync",
                           "--allow-private-targets",
                           "--allow-cidr",
                           "--connect-timeout",
                           "--attempt-timeout",
                           "--connections-per-origin",
                           "--max-in-flight",
                           "--retry-schedule",
                           "--retry-jitter",
                           "--max-retry-after",
                           "--ca-file",
                           "--retention",
                           "--disable-after",
                           "--min-free-space",
                           "--log-format",
                           "--log-level",
                           "--shutdown-grace",
                           "HOOKD_DISABLE_AFTER",
                           "HOOKD_MIN_FREE_SPACE",
                           "HOOKD_RETENTION",
                           "30d",
                           "HOOKD_LISTEN",
                           "HOOKD_DATA",
                           "HOOKD_THREADS",
                           "HOOKD_TOKENS",
                           "127.0.0.1:8080",
                           "./var/hookd",
                           "10s,30s,3m,30m"}) {
    EXPECT_NE(serve_help.out.find(flag), std::string::npos) << flag;
  }
  auto token_help = run_command({HOOKD_BINARY, "token", "create", "--help"});
  EXPECT_EQ(token_help.exit_code, 0);
  EXPECT_NE(token_help.out.find("--account"), std::string::npos);
  EXPECT_NE(token_help.out.find("--tokens"), std::string::npos);
}

TEST_F(HookdCli, BadFlagsStopWithAMessageNamingThem) {
  auto unknown = run_command({HOOKD_BINARY, "serve", "--bogus"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("--bogus"), std::string::npos) << unknown.err;

  auto listen = run_command({HOOKD_BINARY, "serve", "--listen", "nonsense"});
  EXPECT_EQ(listen.exit_code, 2);
  EXPECT_NE(listen.err.find("--listen"), std::string::npos) << listen.err;

  auto threads = run_command({HOOKD_BINARY, "serve", "--threads", "many"});
  EXPECT_EQ(threads.exit_code, 2);
  EXPECT_NE(threads.err.find("--threads"), std::string::npos) << threads.err;

  auto retention = run_command({HOOKD_BINARY, "serve", "--retention", "30 days"});
  EXPECT_EQ(retention.exit_code, 2);
  EXPECT_NE(retention.err.find("--retention: \"30 days\" is not a positive duration"),
            std::string::npos)
      << retention.err;

  auto tokens = run_command(
      {HOOKD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data", (dir_ / "data").string()},
      {"HOOKD_TOKENS=acme:tok,broken"});
  EXPECT_EQ(tokens.exit_code, 1);
  EXPECT_NE(tokens.err.find("HOOKD_TOKENS entry 2"), std::string::npos) << tokens.err;
}

TEST_F(HookdCli, TooLittleFreeSpaceToStartExitsWithTempFailAndSaysWhy) {
  const auto data = dir_ / "data";
  auto full = run_command({HOOKD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data",
                           data.string(), "--min-free-space", "1000TB"},
                          {"HOOKD_TOKENS=default:tok_dev"});
  // 75 (EX_TEMPFAIL), not an abort: a supervisor can wait for space and try again.
  EXPECT_EQ(full.exit_code, 75) << full.err;
  EXPECT_NE(full.err.find("not enough free space to open " + data.string()), std::string::npos)
      << full.err;
  EXPECT_NE(full.err.find("kept free (--min-free-space)"), std::string::npos) << full.err;
  EXPECT_EQ(full.err.find("Assertion"), std::string::npos) << full.err;
  EXPECT_EQ(full.out.find("listening"), std::string::npos) << full.out;
  // RocksDB was not opened: nothing of a database in the folder.
  EXPECT_FALSE(std::filesystem::exists(data / "CURRENT"));
}

TEST_F(HookdCli, JsonLogsHaveAnAccessLineWithTheRequestIdAndNoToken) {
  auto server = serve({"--log-format", "json"});
  http_client c("127.0.0.1", port_);
  auto given = c.request("GET", "/api/v1/webhooks", {},
                         {{"X-Token", "tok_dev"}, {"X-Request-Id", "trace-42"}});
  EXPECT_EQ(given.status, 200u);
  EXPECT_EQ(given.header("x-request-id"), "trace-42");
  // A request id that could forge a line is replaced by hookd's own.
  auto replaced = c.request("GET", "/api/v1/webhooks/7", {},
                            {{"X-Token", "tok_dev"}, {"X-Request-Id", "a b=c"}});
  EXPECT_EQ(replaced.status, 404u);
  EXPECT_TRUE(replaced.header("x-request-id").starts_with("req_"))
      << replaced.header("x-request-id");
  server->signal(SIGTERM);
  ASSERT_EQ(server->wait(), 0);

  bool found_given = false;
  bool found_replaced = false;
  std::istringstream lines(stderr_log());
  for (std::string line; std::getline(lines, line);) {
    const auto v = json::parse(line);  // every line is one JSON object
    EXPECT_EQ(line.find("tok_dev"), std::string::npos) << "a token was logged: " << line;
    if (v.at("msg") != "request") continue;
    if (v.at("request_id") == "trace-42") {
      found_given = true;
      EXPECT_EQ(v.at("method"), "GET");
      EXPECT_EQ(v.at("route"), "/api/v1/webhooks");
      EXPECT_EQ(v.at("status"), "200");
    }
    if (v.at("request_id") == json::value(replaced.header("x-request-id"))) {
      found_replaced = true;
      EXPECT_EQ(v.at("status"), "404");
      EXPECT_EQ(v.at("path"), "/api/v1/webhooks/7");
    }
  }
  EXPECT_TRUE(found_given) << stderr_log();
  EXPECT_TRUE(found_replaced) << stderr_log();
}

TEST_F(HookdCli, BadLogFlagsAreUsageErrors) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--log-format", "xml"}, {"--log-level", "loud"}}) {
    std::vector<std::string> argv = {HOOKD_BINARY, "serve", "--data", (dir_ / "data").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_command(argv, {"HOOKD_TOKENS=default:tok_dev"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(args[0]), std::string::npos) << r.err;
  }
}

TEST_F(HookdCli, BadMinFreeSpaceIsAUsageError) {
  for (const char* bad :
       {"lots", "12 MiB", "-1", "1.5GiB", "99999999999999999999", "16MiB", "1000"}) {
    auto r = run_command({HOOKD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data",
                          (dir_ / "data").string(), "--min-free-space", bad},
                         {"HOOKD_TOKENS=default:tok_dev"});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find(std::string("--min-free-space \"") + bad + "\""), std::string::npos)
        << r.err;
  }
}

TEST_F(HookdCli, SecondServerOnSameDataFolderFailsClearly) {
  auto first = serve();
  auto second = run_command(
      {HOOKD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data", (dir_ / "data").string()},
      {"HOOKD_TOKENS=default:tok_dev"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("lock"), std::string::npos) << second.err;
}

}  // namespace
}  // namespace hookd::test
