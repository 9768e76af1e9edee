// The JSON the admin API shows for stored records: a webhook (flat, as Sonar's create
// response) and a delivery with or without its attempts.
#pragma once

#include <boost/json/object.hpp>

#include "hookd/engine/engine.hpp"

namespace hookd::api {

// Settings list every catalog type, so clients see what they could subscribe to.
// The secret only when `with_secret` (create's answer); shows never carry it.
boost::json::object webhook_json(const engine::webhook_record& r,
                                 const engine::event_catalog& catalog, bool with_secret);

// Attempts only when `with_attempts` (show); lists leave them out.
boost::json::object delivery_json(const engine::delivery_view& d, bool with_attempts);

}  // namespace hookd::api
