// One attempt's HTTP request, built from the delivery, its event and its webhook: the
// JSON body (or, for GET and DELETE, the Rack query), signed with the Standard
// Webhooks headers webhook-id, webhook-timestamp and webhook-signature.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "engine/delivery/delivery_job.hpp"
#include "engine/http/client.hpp"
#include "engine/registry/webhook_targets.hpp"

namespace hookd::engine {

class attempt_request {
 public:
  attempt_request(const delivery_job& job, const webhook_target& target, std::int64_t now_ms);
  // request() points into this object: it stays where it is while the request is out.
  attempt_request(const attempt_request&) = delete;
  attempt_request& operator=(const attempt_request&) = delete;

  http_request request() const;
  const std::string& uuid() const noexcept { return uuid_; }

 private:
  const webhook_target& webhook_;
  std::string uuid_;
  std::string body_;    // POST, PUT, PATCH
  std::string target_;  // GET, DELETE: the webhook's request target with the query appended
  std::string timestamp_;
  std::string signature_;
  std::array<std::pair<std::string_view, std::string_view>, 3> headers_;
};

}  // namespace hookd::engine
