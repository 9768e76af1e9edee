// Tokens managed while hookd serves: `hookd token create|list|revoke` against the
// tokens file of a running server; a new token works and a revoked one is refused
// within a second, without a restart and without dropping open connections.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace hookd::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

class TokenCli : public ::testing::Test {
 protected:
  std::string tokens() const { return (dir_ / "tokens").string(); }

  // `hookd token create --account NAME`: the token on stdout.
  std::string create(const std::string& account) {
    auto r =
        run_command({HOOKD_BINARY, "token", "create", "--account", account, "--tokens", tokens()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string token = r.out;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    return token;
  }

  std::unique_ptr<child_process> serve() {
    auto p = std::make_unique<child_process>(
        std::vector<std::string>{HOOKD_BINARY, "serve", "--listen", "127.0.0.1:0", "--data",
                                 (dir_ / "data").string(), "--tokens", tokens()},
        std::vector<std::string>{}, (dir_ / "stderr.log").string());
    auto line = p->read_line();
    std::smatch m;
    if (!line ||
        !std::regex_match(*line, m, std::regex(R"(hookd listening on http://[^:]+:(\d+))"))) {
      std::ifstream in(dir_ / "stderr.log");
      ADD_FAILURE() << "hookd did not start: "
                    << std::string(std::istreambuf_iterator<char>(in), {});
      return p;
    }
    port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    return p;
  }

  unsigned status_with(http_client& c, const std::string& token) {
    return c.request("GET", "/api/v1/webhooks", {}, {{"X-Token", token}}).status;
  }

  // How long until `token` gets `status` on connection `c` (polling), or nullopt
  // after 5 s.
  std::optional<std::chrono::milliseconds> time_until(http_client& c, const std::string& token,
                                                      unsigned status) {
    const auto start = clock_type::now();
    while (clock_type::now() - start < 5s) {
      if (status_with(c, token) == status) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
      }
    }
    return std::nullopt;
  }

  temp_dir dir_;
  std::uint16_t port_ = 0;
};

TEST_F(TokenCli, CreatedTokensWorkAndRevokedOnesAreRefusedWithinASecondWithoutARestart) {
  const std::string first = create("acme");
  auto server = serve();
  http_client c("127.0.0.1", port_);  // one keep-alive connection throughout
  ASSERT_EQ(status_with(c, first), 200u);

  // A token created while the server runs is accepted without a restart.
  const std::string second = create("beta");
  auto accepted = time_until(c, second, 200);
  ASSERT_TRUE(accepted.has_value()) << "the new token was never accepted";
  EXPECT_LT(*accepted, 1s) << accepted->count() << " ms";

  // The listing names both by id, never by token.
  auto listed = run_command({HOOKD_BINARY, "token", "list", "--tokens", tokens()});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out.find(first), std::string::npos) << "a token was shown";
  std::smatch m;
  ASSERT_TRUE(std::regex_search(listed.out, m, std::regex(R"(\nacme +([0-9a-f]{12}) +1\n)")))
      << listed.out;
  const std::string first_id = m[1];

  auto revoked = run_command({HOOKD_BINARY, "token", "revoke", first_id, "--tokens", tokens()});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_NE(revoked.out.find("revoked " + first_id), std::string::npos) << revoked.out;
  auto refused = time_until(c, first, 401);
  ASSERT_TRUE(refused.has_value()) << "the revoked token was still accepted after 5 s";
  EXPECT_LT(*refused, 1s) << refused->count() << " ms";
  EXPECT_EQ(status_with(c, second), 200u) << "the other token was revoked too";
  EXPECT_EQ(c.connections_opened(), 1) << "the reloads dropped the connection";

  // SIGHUP reads the file at once (here: a token appended by hand).
  std::ofstream(tokens(), std::ios::app) << "gamma:tok_gamma_by_hand\n";
  server->signal(SIGHUP);
  auto by_hand = time_until(c, "tok_gamma_by_hand", 200);
  ASSERT_TRUE(by_hand.has_value());
  EXPECT_EQ(c.connections_opened(), 1);

  server->signal(SIGTERM);
  EXPECT_EQ(server->wait(), 0);
}

TEST_F(TokenCli, RevokeNamesWhatIsWrong) {
  create("acme");
  auto unknown = run_command({HOOKD_BINARY, "token", "revoke", "00000000", "--tokens", tokens()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no token with id 00000000"), std::string::npos) << unknown.err;
  auto short_id = run_command({HOOKD_BINARY, "token", "revoke", "abc", "--tokens", tokens()});
  EXPECT_EQ(short_id.exit_code, 1);
  EXPECT_NE(short_id.err.find("8 to 64 hex digits"), std::string::npos) << short_id.err;
  auto no_id = run_command({HOOKD_BINARY, "token", "revoke", "--tokens", tokens()});
  EXPECT_EQ(no_id.exit_code, 2) << no_id.err;
}

}  // namespace
}  // namespace hookd::test
