// The webhook registry as the admin API and embedders use it: validated input in,
// records out, each operation scoped to one account so no account can see or
// change another's webhooks (another account's webhook is simply not found).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <optional>

#include "hookd/engine/clock.hpp"
#include "hookd/engine/event_catalog.hpp"
#include "hookd/engine/failure.hpp"
#include "hookd/engine/random.hpp"
#include "hookd/export.hpp"
#include "hookd/webhook_record.hpp"

namespace hookd::engine {

using store::webhook_record;

struct webhook_page {
  std::vector<webhook_record> webhooks;
  std::optional<std::uint64_t> next_after;  // pass as `after` to read the next page
};

class registry;                 // engine/registry/registry.hpp: the storage seam
enum class webhook_mode : int;  // engine/registry/webhook_validation.hpp

inline constexpr std::size_t k_default_page_size = 50;
inline constexpr std::size_t k_max_page_size = 500;

class HOOKD_API webhook_service {
 public:
  // All references must outlive the service.
  webhook_service(registry& registry, const event_catalog& catalog, const clock& clock,
                  random_source& random);

  // POST /api/v1/webhooks: body {"webhook": {...}}; a fresh secret is generated.
  [[nodiscard]] outcome<webhook_record> create(std::string_view account, std::string_view body);
  // PUT: full replacement with create's validation; the secret is kept.
  [[nodiscard]] outcome<webhook_record> replace(std::string_view account, std::uint64_t id,
                                                std::string_view body);
  // PATCH: only the given fields change; settings merge key by key.
  [[nodiscard]] outcome<webhook_record> patch(std::string_view account, std::uint64_t id,
                                              std::string_view body);
  [[nodiscard]] outcome<webhook_record> get(std::string_view account, std::uint64_t id) const;
  [[nodiscard]] outcome<void> remove(std::string_view account, std::uint64_t id);
  // Ids after `after`, at most `limit` (1..k_max_page_size).
  [[nodiscard]] outcome<webhook_page> list(std::string_view account, std::uint64_t after,
                                           std::size_t limit) const;

  // Active webhooks of `account` subscribed to `type` (prefix scan of the index).
  [[nodiscard]] outcome<std::vector<std::uint64_t>> subscribers(std::string_view account,
                                                                std::string_view type) const;

  const event_catalog& catalog() const noexcept { return catalog_; }

  // POST /api/v1/webhooks/{id}/secret/rotate: body empty or {"grace": "24h", "secret":
  // "whsec_..."}. A new secret (the given one, whsec_ + base64 of 24 to 64 bytes, or a
  // generated one) replaces the current, which keeps signing beside it until the grace
  // (0 to 30 days, default 24 h) has passed; a previous secret still in its grace is
  // dropped. Returns the webhook with both.
  [[nodiscard]] outcome<webhook_record> rotate_secret(std::string_view account, std::uint64_t id,
                                                      std::string_view body);

  // hookd's own deactivation (410 Gone): inactive, with the reason shown to users.
  [[nodiscard]] outcome<webhook_record> disable(std::uint64_t id, std::string reason);

  // "whsec_" + base64 of 24 random bytes.
  static std::string generate_secret(random_source& random);

 private:
  outcome<webhook_record> update(std::string_view account, std::uint64_t id, std::string_view body,
                                 webhook_mode mode);

  registry& registry_;
  const event_catalog& catalog_;
  const clock& clock_;
  random_source& random_;
};

}  // namespace hookd::engine
