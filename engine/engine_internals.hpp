// What hookd's own parts reach past engine's public surface; engine befriends it.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "engine/delivery/payload.hpp"
#include "hookd/engine/engine.hpp"

namespace hookd::engine {

struct engine_internals {
  // POST /api/v1/events: publishes what parse_event_request read (its id already
  // reconciled with Idempotency-Key) as engine::publish would, with the same answers,
  // without reading the payload's syntax a second time or copying it again.
  [[nodiscard]] static outcome<publish_result> publish_parsed(engine& e, std::string_view account,
                                                              event_request&& request);

  // engine::publish and publish_parsed: `check` checks the payload, with its Rack query
  // when a matching webhook delivers with GET or DELETE.
  using payload_check = std::function<outcome<checked_payload>(bool with_query)>;
  [[nodiscard]] static outcome<publish_result> publish(engine& e, std::string_view account,
                                                       std::string_view type,
                                                       std::optional<std::string_view> event_id,
                                                       const payload_check& check);
};

}  // namespace hookd::engine
