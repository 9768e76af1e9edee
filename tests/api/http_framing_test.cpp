// The admin server's HTTP framing as an attacker probes it, on raw sockets: every
// request whose body length is ambiguous gets one 400 and a closed connection (no
// second request smuggled in its body), a bad chunk size a JSON 400, a token checked
// before any body is read, and early answers that a client still sending can read.
#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "tests/api/api_fixture.hpp"

namespace hookd::test {
namespace {

namespace json = boost::json;

class HttpFraming : public api_fixture {
 protected:
  // A webhook of acme's whose secret a smuggled request would try to read.
  std::uint64_t create_webhook() {
    auto r = call("POST", "/api/v1/webhooks", k_sonar_example);
    EXPECT_EQ(r.status, 201u) << r.body;
    return json::parse(r.body).at("id").to_number<std::uint64_t>();
  }
};

// The status lines of the responses a connection received, in order: each response
// is read as a client would, headers then Content-Length bytes, so text inside a body
// is never counted. Trailing bytes that are not a whole response count as one more.
std::vector<std::string> status_lines(const std::string& received) {
  static const std::regex length(R"(\r\ncontent-length: *(\d+))", std::regex::icase);
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < received.size()) {
    const auto end = received.find("\r\n\r\n", at);
    const std::string head = received.substr(at, end == std::string::npos ? end : end - at);
    out.push_back(head.substr(0, std::min<std::size_t>(12, head.find("\r\n"))));
    std::smatch m;
    if (end == std::string::npos || !std::regex_search(head, m, length)) break;
    at = end + 4 + std::stoul(m[1]);
  }
  return out;
}

std::string body_of(const std::string& received) {
  const auto at = received.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : received.substr(at + 4);
}

TEST_F(HttpFraming, EveryAmbiguousTransferEncodingGetsOne400AndNoSmuggledRequest) {
  const auto id = create_webhook();
  const std::string path = "/api/v1/webhooks/" + std::to_string(id);
  // What a proxy that frames the request differently would forward as a second request.
  const std::string smuggled =
      "GET " + path + "/secret HTTP/1.1\r\nHost: x\r\nX-Token: tok_acme\r\n\r\n";
  struct form {
    const char* name;
    std::string headers;  // the framing headers, each ending in \r\n
    const char* version = "HTTP/1.1";
  };
  const std::string length = "Content-Length: " + std::to_string(smuggled.size()) + "\r\n";
  const std::vector<form> forms = {
      {"gzip", "Transfer-Encoding: gzip\r\n"},
      {"identity", "Transfer-Encoding: identity\r\n"},
      {"chunked, identity", "Transfer-Encoding: chunked, identity\r\n"},
      {"gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n"},
      {"chunked twice in one field", "Transfer-Encoding: chunked, chunked\r\n"},
      {"two fields", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"},
      {"x-chunked", "Transfer-Encoding: x-chunked\r\n"},
      {"empty", "Transfer-Encoding: \r\n"},
      {"with Content-Length", "Transfer-Encoding: chunked\r\n" + length},
      {"Content-Length first", length + "Transfer-Encoding: chunked\r\n"},
      {"gzip with Content-Length", "Transfer-Encoding: gzip\r\n" + length},
      {"in HTTP/1.0", "Transfer-Encoding: chunked\r\n", "HTTP/1.0"},
      {"two different Content-Lengths", length + "Content-Length: 0\r\n"},
  };
  for (const auto& f : forms) {
    SCOPED_TRACE(f.name);
    raw_connection c("127.0.0.1", port());
    c.send(std::string("DELETE ") + path + " " + f.version +
           "\r\nHost: x\r\nX-Token: tok_acme\r\n" + f.headers + "\r\n" + smuggled);
    const std::string received = c.read_until_close();
    const auto lines = status_lines(received);
    ASSERT_EQ(lines.size(), 1u) << received;
    EXPECT_TRUE(lines[0].ends_with(" 400")) << received;
    const json::value v = json::parse(body_of(received));
    EXPECT_EQ(v.at("error").at("code").as_string(), "bad_request") << received;
    EXPECT_EQ(received.find("whsec_"), std::string::npos) << "the secret leaked: " << received;
    EXPECT_EQ(call("GET", path).status, 200u) << "the DELETE ran";
  }
}

TEST_F(HttpFraming, ExactlyChunkedInAnyCaseIsServed) {
  for (const char* te : {"chunked", "Chunked", " chunked "}) {
    SCOPED_TRACE(te);
    raw_connection c("127.0.0.1", port());
    const std::string body = k_sonar_example;
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", body.size());
    c.send(std::string("POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nX-Token: tok_acme\r\n") +
           "Content-Type: application/json\r\nConnection: close\r\nTransfer-Encoding: " + te +
           "\r\n\r\n" + size_line + body + "\r\n0\r\n\r\n");
    const std::string received = c.read_until_close();
    const auto lines = status_lines(received);
    ASSERT_EQ(lines.size(), 1u) << received;
    EXPECT_EQ(lines[0], "HTTP/1.1 201") << received;
  }
}

TEST_F(HttpFraming, OverflowingChunkSizeGetsAJson400) {
  for (const char* size : {"ffffffffffffffffffff", "10000000000000000", "-1", "zz"}) {
    SCOPED_TRACE(size);
    raw_connection c("127.0.0.1", port());
    c.send(std::string("POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nX-Token: tok_acme\r\n") +
           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + size +
           "\r\n{}\r\n0\r\n\r\n");
    const std::string received = c.read_until_close();
    const auto lines = status_lines(received);
    ASSERT_EQ(lines.size(), 1u) << received;
    EXPECT_EQ(lines[0], "HTTP/1.1 400") << received;
    const json::value v = json::parse(body_of(received));
    EXPECT_EQ(v.at("error").at("code").as_string(), "bad_request") << received;
  }
  EXPECT_EQ(stored_webhooks(), 0u);
}

TEST_F(HttpFraming, TheTokenIsCheckedBeforeTheBodyIsRead) {
  for (const char* token : {"", "X-Token: tok_wrong\r\n"}) {
    SCOPED_TRACE(token);
    raw_connection c("127.0.0.1", port());
    // The headers announce 900 KB (under the 1 MiB limit) that never come: the answer
    // must not wait for them.
    c.send(std::string("POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\n") + token +
           "Content-Type: application/json\r\nContent-Length: 900000\r\n\r\n");
    const std::string received = c.read_until_close();
    const auto lines = status_lines(received);
    ASSERT_EQ(lines.size(), 1u) << received;
    EXPECT_EQ(lines[0], "HTTP/1.1 401") << received;
  }
}

TEST_F(HttpFraming, AnUnauthenticatedExpectContinueGets401Not100) {
  raw_connection c("127.0.0.1", port());
  c.send(
      "POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nX-Token: tok_wrong\r\n"
      "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n");
  const std::string received = c.read_until_close();
  const auto lines = status_lines(received);
  ASSERT_EQ(lines.size(), 1u) << received;
  EXPECT_EQ(lines[0], "HTTP/1.1 401") << received;
}

TEST_F(HttpFraming, ARefusalWithoutABodyKeepsTheConnection) {
  raw_connection c("127.0.0.1", port());
  c.send(
      "GET /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nX-Token: tok_wrong\r\n\r\n"
      "GET /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nX-Token: tok_acme\r\nConnection: close\r\n\r\n");
  const std::string received = c.read_until_close();
  const auto lines = status_lines(received);
  ASSERT_EQ(lines.size(), 2u) << received;
  EXPECT_EQ(lines[0], "HTTP/1.1 401");
  EXPECT_EQ(lines[1], "HTTP/1.1 200");
}

TEST_F(HttpFraming, AnswersToHeadHaveNoBody) {
  raw_connection c("127.0.0.1", port());
  // A 405 (HEAD is not a method of /healthz) then a GET on the same connection: the
  // second status line must follow the first answer's headers directly.
  c.send(
      "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string received = c.read_until_close();
  ASSERT_TRUE(received.starts_with("HTTP/1.1 405")) << received;
  const auto end_of_head = received.find("\r\n\r\n");
  ASSERT_NE(end_of_head, std::string::npos);
  EXPECT_TRUE(received.substr(end_of_head + 4).starts_with("HTTP/1.1 200")) << received;
}

// A client that writes its whole body before reading (Python's http.client does) must
// still read the early answer: the server reads and discards for a while before it
// closes, instead of closing with unread data, which resets the connection.
TEST_F(HttpFraming, AClientStillSendingReadsTheEarlyAnswer) {
  struct early {
    const char* name;
    std::string token;
    std::size_t length;
    const char* status;
  };
  const std::vector<early> cases = {
      {"oversize", "tok_acme", 3 * 1024 * 1024, "HTTP/1.1 413"},
      {"wrong token", "tok_wrong", 900 * 1024, "HTTP/1.1 401"},
  };
  for (const auto& e : cases) {
    SCOPED_TRACE(e.name);
    raw_connection c("127.0.0.1", port());
    const std::string body(e.length, 'x');
    // One blocking send of headers and the whole body: it completes only if the server
    // keeps reading after it answered.
    ASSERT_NO_THROW(c.send("POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nX-Token: " + e.token +
                           "\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body));
    const std::string received = c.read_until_close();
    const auto lines = status_lines(received);
    ASSERT_EQ(lines.size(), 1u) << received.substr(0, 300);
    EXPECT_EQ(lines[0], e.status);
  }
  EXPECT_EQ(stored_webhooks(), 0u);
}

}  // namespace
}  // namespace hookd::test
