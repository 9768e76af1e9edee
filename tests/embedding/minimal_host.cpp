// The smallest host of libhookd (tests/embedding/embedding_test.py builds it with
// pkg-config alone, and configures it beside hookd's sources): the library it runs with
// is the one it was compiled against, and an engine opens, takes an event nobody
// subscribed to, and stops.
//
//   minimal_host DATA_DIR
#include <cstring>
#include <iostream>

#include "hookd/engine/engine.hpp"
#include "hookd/version.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: minimal_host DATA_DIR\n";
    return 2;
  }
  if (std::strcmp(hookd::library_version(), HOOKD_VERSION_STRING) != 0) {
    std::cerr << "compiled against hookd " HOOKD_VERSION_STRING ", running with "
              << hookd::library_version() << "\n";
    return 1;
  }
  hookd::engine::engine_options options;
  options.data_dir = argv[1];
  auto opened = hookd::engine::engine::open(std::move(options));
  if (!opened) {
    std::cerr << "cannot open the engine: " << opened.error().message << "\n";
    return 1;
  }
  auto& engine = **opened;
  engine.start();
  auto published = engine.publish("shop", "customer_created", R"({"customer": {"id": 42}})");
  engine.stop();
  if (!published) {
    std::cerr << "publish failed: " << published.error().message << "\n";
    return 1;
  }
  if (published->deliveries != 0) {
    std::cerr << "an event nobody subscribed to made " << published->deliveries << " deliveries\n";
    return 1;
  }
  std::cout << "hookd " << hookd::library_version() << ": event " << published->event_id
            << ", no deliveries\n";
  return 0;
}
