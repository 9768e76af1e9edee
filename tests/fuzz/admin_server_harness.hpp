// A real admin server (api::server with the real router and engine on a temporary
// RocksDB folder) on 127.0.0.1 port 0 with short timeouts, fed raw bytes over loopback
// TCP: for the admin_server fuzz target and fuzz_regression_test.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "api/router.hpp"
#include "api/server.hpp"
#include "api/tokens.hpp"
#include "hookd/engine/engine.hpp"
#include "tests/fuzz/fuzz_checks.hpp"

namespace hookd::fuzz {

// The tokens the server knows, in HOOKD_TOKENS form: account acme's "tok", and "optok"
// for the operator routes (/metrics).
inline constexpr std::string_view k_fuzz_tokens = "acme:tok,@operator:optok";

class admin_server_harness {
 public:
  // Opens the engine and starts the server; throws on a start-up failure. The engine's
  // dispatcher is not started: a fuzzed webhook may name any address, and nothing may
  // be sent off this machine. Publish still stores events and deliveries.
  admin_server_harness();
  // Stops the server and the engine and removes the folder.
  ~admin_server_harness();
  admin_server_harness(const admin_server_harness&) = delete;
  admin_server_harness& operator=(const admin_server_harness&) = delete;

  // Writes `bytes` on a fresh connection (reading the answers meanwhile), half-closes
  // it and reads until the server closes it. Broken when the server cannot be reached
  // or neither closes nor answers for k_close_limit.
  verdict exchange(std::string_view bytes);
  // GET /healthz on a fresh connection answers 200.
  verdict healthy();

  std::uint16_t port() const { return server_->port(); }

  // The server's own timeouts are 300 ms each; this leaves room for a loaded machine.
  static constexpr std::chrono::seconds k_close_limit{5};

 private:
  verdict exchange(std::string_view bytes, std::string& answer);

  std::filesystem::path dir_;
  std::unique_ptr<engine::engine> engine_;
  std::unique_ptr<api::token_store> tokens_;
  std::unique_ptr<api::portal_sessions> portal_;
  std::unique_ptr<api::router> router_;
  std::unique_ptr<api::server> server_;
};

}  // namespace hookd::fuzz
