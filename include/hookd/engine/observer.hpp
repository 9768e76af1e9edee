// Hearing back from the engine: a host's delivery_observer is told of every delivery
// outcome (succeeded, attempt failed and to be retried, failed for good) and of every
// webhook hookd disabled, so it can update its own records or alert.
//
// Threading (docs/EMBEDDING.md "Hearing back"):
// - Calls come from one thread of the engine's own, one at a time, never from the
//   dispatcher: an observer cannot slow a delivery down.
// - A notice is sent after its outcome is written, so what it says survives a crash;
//   one delivery's notices come in the order of its attempts.
// - Notices wait in a queue of engine_options::observer_queue; when a slow observer
//   lets it fill up, new notices are dropped and counted (engine_stats::
//   observer_dropped), and the delivery log (engine::deliveries) still has them.
// - An observer may call the engine's read functions, publish, and stop(): from the
//   observer, stop() does not wait for the notices still queued (they are called after
//   the observer's function returns), nor for a stop another thread began.
// - stop() returns after the notices of every outcome written before it were called.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "hookd/export.hpp"

namespace hookd::engine {

// One attempt's outcome, as the delivery log records it.
struct delivery_notice {
  std::string delivery_id;  // the delivery's uuid (engine::delivery)
  std::uint64_t webhook_id = 0;
  std::string account;
  std::string event_id;
  std::string event_type;
  // The delivery's status after this attempt: succeeded, pending (another attempt
  // follows), failed (the schedule is spent), or cancelled (its webhook was deleted,
  // deactivated or disabled meanwhile).
  std::string status;
  std::uint32_t attempt = 0;            // 1 for the first
  std::int64_t at_ms = 0;               // when the attempt started, unix milliseconds
  std::uint32_t duration_ms = 0;        // how long it took
  std::optional<unsigned> status_code;  // nullopt when no response came
  std::string error_kind;               // empty on success: timeout, connect, tls, http_status, ...
  std::string error;                    // in words
  // When the next attempt is due (attempt_failed only).
  std::optional<std::int64_t> next_attempt_at_ms;
  bool manual = false;  // a retry asked for through engine::retry
};

// hookd deactivated a webhook: it failed for engine_options::disable_after, or its
// receiver answered 410 Gone. Its pending deliveries are cancelled.
struct webhook_disabled_notice {
  std::uint64_t webhook_id = 0;
  std::string account;
  std::string reason;  // as the webhook's disabled_reason says
  std::int64_t at_ms = 0;
};

class HOOKD_API delivery_observer {
 public:
  virtual ~delivery_observer();
  // The receiver answered 2xx; the delivery succeeded.
  virtual void delivered(const delivery_notice& notice);
  // The attempt failed and another is due at notice.next_attempt_at_ms.
  virtual void attempt_failed(const delivery_notice& notice);
  // The attempt failed and none follows: the schedule is spent (status failed), the
  // receiver answered 410 Gone (status cancelled; webhook_disabled follows), or its
  // webhook was deleted, deactivated or disabled meanwhile (status cancelled).
  virtual void failed(const delivery_notice& notice);
  virtual void webhook_disabled(const webhook_disabled_notice& notice);
};

}  // namespace hookd::engine
