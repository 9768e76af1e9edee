// The portal's way in for a platform's customers: a link with a one-time code, its
// exchange for a session cookie, and what the session (or token) may do.
#pragma once

#include "api/route_table.hpp"

namespace hookd::api {

response create_portal_session(const route_call& call);  // POST /api/v1/portal-sessions
response exchange_portal_code(const route_call& call);   // GET /portal/session?code=...
response show_portal_session(const route_call& call);    // GET /api/v1/portal-session
response show_portal_page(const route_call& call);       // GET /portal: the app's page
response show_portal_file(const route_call& call);       // GET /portal/{path}: its files

}  // namespace hookd::api
