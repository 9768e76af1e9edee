// The account-scoped webhook operations: validate, then read-modify-write through the
// registry; another account's webhook is not found.
#include "hookd/engine/webhook_service.hpp"

#include "engine/registry/registry.hpp"
#include "engine/registry/webhook_validation.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "engine/encoding.hpp"

namespace hookd::engine {
namespace {

failure storage_failure(const error& e, std::string_view operation, std::uint64_t id = 0) {
  std::string doing(operation);
  if (id != 0) doing += " webhook " + std::to_string(id);
  return failure::from(e, doing);
}

failure not_found(std::uint64_t id) {
  return failure::from(errc::not_found, "webhook " + std::to_string(id) + " not found");
}

// Applies the given fields; for settings, each given key is set and the others are
// kept (a create or replace starts from an empty set).
void apply(const webhook_fields& f, webhook_record& r) {
  if (f.name) r.name = *f.name;
  if (f.active) {
    r.active = *f.active;
    // A user's own (re)activation clears the reason hookd disabled it for.
    if (r.active) r.disabled_reason.clear();
  }
  if (f.url) r.url = *f.url;
  if (f.http_method) r.http_method = *f.http_method;
  if (f.retry_schedule) r.retry_schedule = *f.retry_schedule;
  if (f.settings) {
    for (const auto& [type, on] : *f.settings) {
      auto it = std::find(r.events.begin(), r.events.end(), type);
      if (on && it == r.events.end()) r.events.push_back(type);
      if (!on && it != r.events.end()) r.events.erase(it);
    }
  }
}

}  // namespace

void throw_exception_from_error(const failure& f, const boost::source_location&) {
  throw std::runtime_error(f.message);
}

webhook_service::webhook_service(registry& registry, const event_catalog& catalog,
                                 const clock& clock, random_source& random)
    : registry_(registry), catalog_(catalog), clock_(clock), random_(random) {}

std::string webhook_service::generate_secret(random_source& random) {
  std::array<std::byte, 24> bytes{};
  random.fill(bytes);
  return "whsec_" + base64_encode(bytes);
}

outcome<webhook_record> webhook_service::create(std::string_view account, std::string_view body) {
  auto fields = parse_webhook_request(body, catalog_, webhook_mode::create);
  if (!fields) return fields.error();
  webhook_record r;
  r.account = std::string(account);
  apply(*fields, r);
  r.secret = generate_secret(random_);
  r.created_at_ms = r.updated_at_ms = clock_.now_ms();
  auto stored = registry_.create(std::move(r));
  if (!stored) return storage_failure(stored.error(), "create");
  return std::move(*stored);
}

outcome<webhook_record> webhook_service::replace(std::string_view account, std::uint64_t id,
                                                 std::string_view body) {
  return update(account, id, body, webhook_mode::replace);
}

outcome<webhook_record> webhook_service::patch(std::string_view account, std::uint64_t id,
                                               std::string_view body) {
  return update(account, id, body, webhook_mode::patch);
}

outcome<webhook_record> webhook_service::update(std::string_view account, std::uint64_t id,
                                                std::string_view body, webhook_mode mode) {
  auto fields = parse_webhook_request(body, catalog_, mode);
  if (!fields) return fields.error();
  const std::int64_t now = clock_.now_ms();
  auto updated = registry_.update(id, [&](webhook_record& r) -> boost::system::error_code {
    if (r.account != account) return errc::not_found;
    if (mode == webhook_mode::replace) {
      r.events.clear();
      r.disabled_reason.clear();
    }
    apply(*fields, r);
    r.updated_at_ms = std::max(now, r.updated_at_ms);
    return {};
  });
  if (!updated) {
    if (updated.error() == errc::not_found) return not_found(id);
    return storage_failure(updated.error(), "update", id);
  }
  return std::move(*updated);
}

outcome<webhook_record> webhook_service::rotate_secret(std::string_view account, std::uint64_t id,
                                                       std::string_view body) {
  std::chrono::milliseconds grace = k_default_rotation_grace;
  std::string secret;
  if (!body.empty()) {
    auto fields = parse_rotation_request(body);
    if (!fields) return fields.error();
    if (fields->grace) grace = *fields->grace;
    secret = std::move(fields->secret);
  }
  if (secret.empty()) secret = generate_secret(random_);
  const std::int64_t now = clock_.now_ms();
  auto updated = registry_.update(id, [&](webhook_record& r) -> boost::system::error_code {
    if (r.account != account) return errc::not_found;
    if (r.secret == secret) return errc::already_exists;
    r.previous_secret = grace.count() > 0 ? r.secret : std::string();
    r.previous_secret_until_ms = grace.count() > 0 ? now + grace.count() : 0;
    r.secret = secret;
    r.updated_at_ms = std::max(now, r.updated_at_ms);
    return {};
  });
  if (!updated) {
    if (updated.error() == errc::not_found) return not_found(id);
    if (updated.error() == errc::already_exists) {
      failure f = failure::from(errc::invalid_argument, "the rotation request is invalid");
      f.details.push_back({"secret", "is the webhook's current secret; give a new one"});
      return f;
    }
    return storage_failure(updated.error(), "rotate the secret of", id);
  }
  return std::move(*updated);
}

outcome<webhook_record> webhook_service::disable(std::uint64_t id, std::string reason) {
  const std::int64_t now = clock_.now_ms();
  auto updated = registry_.update(id, [&](webhook_record& r) -> boost::system::error_code {
    r.active = false;
    r.disabled_reason = reason;
    r.updated_at_ms = std::max(now, r.updated_at_ms);
    return {};
  });
  if (!updated) {
    if (updated.error() == errc::not_found) return not_found(id);
    return storage_failure(updated.error(), "disable", id);
  }
  return std::move(*updated);
}

outcome<webhook_record> webhook_service::get(std::string_view account, std::uint64_t id) const {
  auto r = registry_.get(id);
  if (!r) {
    if (r.error() == errc::not_found) return not_found(id);
    return storage_failure(r.error(), "read", id);
  }
  if (r->account != account) return not_found(id);
  return std::move(*r);
}

outcome<void> webhook_service::remove(std::string_view account, std::uint64_t id) {
  // The registry removes by id only; check ownership first. A concurrent delete of
  // the same webhook between the two steps ends as not_found, which is correct.
  auto existing = get(account, id);
  if (!existing) return existing.error();
  auto removed = registry_.remove(id);
  if (!removed) {
    if (removed.error() == errc::not_found) return not_found(id);
    return storage_failure(removed.error(), "delete", id);
  }
  return {};
}

outcome<webhook_page> webhook_service::list(std::string_view account, std::uint64_t after,
                                            std::size_t limit) const {
  auto page = registry_.list(account, after, std::clamp<std::size_t>(limit, 1, k_max_page_size));
  if (!page) return storage_failure(page.error(), "list webhooks");
  return std::move(*page);
}

outcome<std::vector<std::uint64_t>> webhook_service::subscribers(std::string_view account,
                                                                 std::string_view type) const {
  auto ids = registry_.subscribers(account, type);
  if (!ids) return storage_failure(ids.error(), "scan subscriptions");
  return std::move(*ids);
}

}  // namespace hookd::engine
