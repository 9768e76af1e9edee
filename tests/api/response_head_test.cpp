// The admin server's view of a request's headers (api/request_head.hpp), and its
// answers on the wire (api/response_head.hpp): byte for byte what
// Beast's serializer wrote for the same answer, which the server used before, but for
// the "Content-Length: 0" Beast put on a 204 or 304 (RFC 9110 8.6: a 204 must not have
// one, and a 304's would have to be the length of the 200's body).
#include "api/response_head.hpp"

#include "api/request_head.hpp"

#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/beast/http.hpp>

#include "hookd/version.hpp"

namespace hookd::api {
namespace {

namespace http = boost::beast::http;

// The answer as the server built it with Beast: the same fields set in the same order,
// then prepare_payload and Beast's serializer (operator<<).
std::string beast_bytes(const response& out, unsigned version, bool keep_alive,
                        std::string_view request_id) {
  http::response<http::string_body> res{static_cast<http::status>(out.status), version};
  res.body() = out.body;
  if (!out.allow.empty()) res.set(http::field::allow, out.allow);
  if (!out.retry_after.empty()) res.set(http::field::retry_after, out.retry_after);
  for (const auto& [name, value] : out.headers) res.insert(name, value);
  if (out.status != 204) res.set(http::field::content_type, out.content_type);
  res.keep_alive(keep_alive);
  res.set(http::field::server, engine::k_user_agent);
  if (!request_id.empty()) res.set("X-Request-Id", request_id);
  if (res.result() != http::status::no_content && res[http::field::content_type].empty()) {
    res.set(http::field::content_type, "application/json");
  }
  res.prepare_payload();
  std::ostringstream os;
  os << res;
  std::string bytes = os.str();
  if (out.status == 204 || out.status == 304) {
    const std::string_view zero = "Content-Length: 0\r\n";
    const auto at = bytes.find(zero);
    EXPECT_NE(at, std::string::npos);
    if (at != std::string::npos) bytes.erase(at, zero.size());
  }
  return bytes;
}

std::string our_bytes(const response& out, unsigned version, bool keep_alive,
                      std::string_view request_id) {
  std::string bytes = response_head(out, version, keep_alive, request_id);
  if (carries_body(out.status)) bytes += out.body;
  return bytes;
}

response answer(unsigned status, std::string body) {
  response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Every header the router reads, by any case of its name, the first of two taken as
// head[name] takes it, one absent left empty.
TEST(RequestHead, TakesTheFirstOfEachHeaderTheRouterReads) {
  http::request_header<> head;
  head.method(http::verb::post);
  head.target("/api/v1/events?x=1");
  head.insert("content-type", "application/json");
  head.insert("X-TOKEN", "tok_a");
  head.insert("x-token", "tok_b");
  head.insert("Idempotency-Key", "");
  head.insert("idempotency-key", "second");
  head.insert(http::field::cookie, "hookd_portal=s");
  head.insert("x-csrf-token", "c");
  head.insert(http::field::host, "hookd.example");
  head.insert(http::field::accept, "text/html");
  head.insert(http::field::accept_encoding, "gzip");
  head.insert(http::field::if_none_match, "\"e\"");
  head.insert("X-Forwarded-Proto", "https, http");
  head.insert("X-Other", "ignored");
  const auto r = request_of(head, "{}");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/api/v1/events?x=1");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.token, "tok_a");
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(r.idempotency_key, "");  // the first one, empty
  EXPECT_EQ(r.cookie, "hookd_portal=s");
  EXPECT_EQ(r.csrf_token, "c");
  EXPECT_EQ(r.host, "hookd.example");
  EXPECT_EQ(r.accept, "text/html");
  EXPECT_EQ(r.accept_encoding, "gzip");
  EXPECT_EQ(r.if_none_match, "\"e\"");
  EXPECT_EQ(r.forwarded_proto, "https, http");
  // What Beast's own lookups give, which the server used before.
  EXPECT_EQ(r.token, head["X-Token"]);
  EXPECT_EQ(r.idempotency_key, head["Idempotency-Key"]);
  EXPECT_EQ(r.csrf_token, head["X-CSRF-Token"]);
  EXPECT_EQ(r.forwarded_proto, head["X-Forwarded-Proto"]);
  EXPECT_EQ(r.content_type, head[http::field::content_type]);
  const auto bare = request_of(http::request_header<>{}, "");
  EXPECT_TRUE(bare.token.empty());
  EXPECT_TRUE(bare.content_type.empty());
  EXPECT_TRUE(bare.forwarded_proto.empty());
}

TEST(ResponseHead, IsWhatBeastsSerializerWrote) {
  std::vector<response> answers;
  answers.push_back(answer(200, R"({"webhooks":[]})"));
  answers.push_back(answer(202, R"({"event":{"id":"evt_1","type":"t","deliveries":1}})"));
  answers.push_back(answer(204, ""));
  answers.push_back(answer(400, R"({"errors":[{"msg":"bad"}]})"));
  auto not_modified = answer(304, "");
  not_modified.content_type = "text/html; charset=utf-8";
  not_modified.headers = {{"ETag", "\"abc-gz\""}, {"Cache-Control", "no-cache"}};
  answers.push_back(not_modified);
  auto not_allowed = answer(405, R"({"errors":[]})");
  not_allowed.allow = "GET, POST";
  answers.push_back(not_allowed);
  auto busy = answer(503, R"({"errors":[]})");
  busy.retry_after = "1";
  answers.push_back(busy);
  auto created = answer(201, R"({"webhook":{}})");
  created.headers = {{"Location", "/api/v1/webhooks/7"},
                     {"Set-Cookie", "a=1; Path=/"},
                     {"Set-Cookie", "b=2; Path=/"}};
  answers.push_back(created);
  auto page = answer(200, "<!doctype html><p>x</p>");
  page.content_type = "text/html; charset=utf-8";
  page.headers = {{"Content-Security-Policy", "default-src 'none'"}, {"X-Frame-Options", "DENY"}};
  answers.push_back(page);
  auto no_type = answer(200, "{}");
  no_type.content_type.clear();
  answers.push_back(no_type);
  auto redirect = answer(308, "");
  redirect.headers = {{"Location", "/portal/"}};
  answers.push_back(redirect);

  for (const auto& a : answers) {
    for (unsigned version : {10U, 11U}) {
      for (bool keep_alive : {true, false}) {
        for (std::string_view id : {std::string_view("req_0123456789abcdef"), std::string_view()}) {
          SCOPED_TRACE(std::to_string(a.status) + " HTTP/" + (version == 10 ? "1.0" : "1.1") +
                       (keep_alive ? " keep-alive" : " close") + " id " + std::string(id));
          EXPECT_EQ(our_bytes(a, version, keep_alive, id), beast_bytes(a, version, keep_alive, id));
        }
      }
    }
  }
}

TEST(ResponseHead, OnlyAnswersThatCarryABodyHaveOne) {
  EXPECT_TRUE(carries_body(200));
  EXPECT_TRUE(carries_body(202));
  EXPECT_TRUE(carries_body(308));
  EXPECT_TRUE(carries_body(404));
  EXPECT_FALSE(carries_body(100));
  EXPECT_FALSE(carries_body(204));
  EXPECT_FALSE(carries_body(304));
  // A HEAD answer keeps the Content-Length a GET would have.
  EXPECT_NE(response_head(answer(200, "12345"), 11, true, "").find("Content-Length: 5\r\n"),
            std::string::npos);
}

}  // namespace
}  // namespace hookd::api
