// A delivery as the dispatcher holds it: the stored record, the event it carries
// (shared by every delivery of that event) and how this attempt came about.
#pragma once

#include <memory>
#include <string>

#include "store/delivery_records.hpp"

namespace hookd::engine {

// An event as a delivery needs it; shared by all of its deliveries.
struct event_data {
  std::string account;
  std::string id;
  std::string type;
  std::string payload;
  std::string query;  // the payload as a Rack query string, when publish made it (GET/DELETE)
};

struct delivery_job {
  store::delivery_record record;  // as stored: its due entry is at record.next_attempt_at_ms
  std::shared_ptr<const event_data> event;
  bool manual = false;       // an attempt asked for by an operator
  bool last_chance = false;  // one attempt only: a failure ends as `failed` (repair of a
                             // delivery that had already failed or been cancelled)
};

}  // namespace hookd::engine
