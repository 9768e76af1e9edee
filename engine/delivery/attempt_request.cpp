// Building and signing one attempt's request (DESIGN.md "Delivery contract").
#include "engine/delivery/attempt_request.hpp"

#include "engine/delivery/payload.hpp"
#include "engine/delivery/signer.hpp"
#include "engine/uuid.hpp"

namespace hookd::engine {
namespace {

// The webhook's request target with the query appended.
std::string target_with_query(std::string_view target, std::string_view query) {
  std::string out(target);
  out.push_back(out.find('?') == std::string::npos ? '?' : '&');
  out += query;
  return out;
}

}  // namespace

attempt_request::attempt_request(const delivery_job& job, const webhook_target& target,
                                 std::int64_t now_ms)
    : webhook_(target), uuid_(format_uuid(job.record.id)) {
  const event_data& event = *job.event;
  std::string_view signed_content;
  if (target.body_method) {
    body_ = delivery_body(event.payload, uuid_, event.type);
    signed_content = body_;
  } else {
    // The query form is prepared at publish only when a GET/DELETE webhook matched;
    // this one may have changed its method since.
    std::string payload_query = event.query;
    if (payload_query.empty()) {
      if (auto q = check_payload(event.payload, true)) payload_query = std::move(q->query);
    }
    const std::string query = delivery_query(uuid_, event.type, payload_query);
    target_ = target_with_query(target.endpoint.target, query);
    signed_content = std::string_view(target_).substr(target_.size() - query.size());
  }
  const std::int64_t timestamp = now_ms / 1000;
  timestamp_ = std::to_string(timestamp);
  signature_ = sign(target.signing_key, uuid_, timestamp, signed_content);
  // During a rotation's grace both secrets sign, space separated (Standard Webhooks):
  // a receiver holding either one verifies the request.
  if (!target.previous_signing_key.empty() && now_ms < target.previous_key_until_ms) {
    signature_ += ' ';
    signature_ += sign(target.previous_signing_key, uuid_, timestamp, signed_content);
  }
  headers_ = {{
      {"webhook-id", uuid_},
      {"webhook-timestamp", timestamp_},
      {"webhook-signature", signature_},
  }};
}

http_request attempt_request::request() const {
  return http_request{
      .method = webhook_.http_method,
      .url = &webhook_.endpoint,
      .target = webhook_.body_method ? std::string_view(webhook_.endpoint.target)
                                     : std::string_view(target_),
      .headers = headers_,
      .body = body_,
  };
}

}  // namespace hookd::engine
