// The stored form of a webhook (DESIGN.md "Vocabulary"). Plain data: validation
// lives in engine/, the encoding in store/webhook_registry.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/export.hpp"

namespace hookd::store {

struct HOOKD_API webhook_record {
  std::uint64_t id = 0;  // monotonic, never reused; assigned by the registry
  std::string account;   // owning tenant
  std::string name;
  bool active = false;
  std::vector<std::string> events;  // subscribed event types (settings set to true), sorted, unique
  std::string url;
  std::string http_method;         // upper case: POST, PUT, PATCH, GET or DELETE
  std::string secret;              // whsec_ + base64 of 24 random bytes
  std::int64_t created_at_ms = 0;  // unix milliseconds, UTC
  std::int64_t updated_at_ms = 0;
  std::string disabled_reason;  // why hookd deactivated it; empty when the user did
  std::string retry_schedule;   // "1m,1h" overrides the engine's schedule; empty: default
  // The secret before the last rotation: until previous_secret_until_ms every request
  // is signed with both (Standard Webhooks), so a receiver holding either verifies it.
  // Empty when there is none.
  std::string previous_secret;
  std::int64_t previous_secret_until_ms = 0;

  bool subscribes_to(std::string_view type) const;
  friend bool operator==(const webhook_record&, const webhook_record&) = default;
};

}  // namespace hookd::store
