// hookd as an in-process event bus: open an engine on a data folder, register a
// webhook, publish an event, and wait until the delivery is done.
//
//   embedded_example DATA_DIR RECEIVER_URL
//
// Prints the event id and the delivery's final status; exits 0 when it succeeded.
#include <chrono>
#include <iostream>
#include <string>

#include "hookd/engine/engine.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: embedded_example DATA_DIR RECEIVER_URL\n";
    return 2;
  }
  hookd::engine::engine_options options;
  options.data_dir = argv[1];
  // The example's receiver usually runs on this machine.
  options.http.allow_private_targets = true;
  auto opened = hookd::engine::engine::open(std::move(options));
  if (!opened) {
    std::cerr << "cannot open the engine: " << opened.error().message << "\n";
    return 1;
  }
  auto& engine = **opened;
  engine.start();

  auto webhook = engine.webhooks().create("shop", R"({"webhook": {
      "name": "orders to the warehouse", "active": true,
      "settings": {"customer_created": true},
      "url": ")" + std::string(argv[2]) + R"(", "http_method": "POST"}})");
  if (!webhook) {
    std::cerr << "cannot create the webhook: " << webhook.error().message << "\n";
    return 1;
  }

  // Publish from any thread; durable once it returns.
  auto published = engine.publish("shop", "customer_created",
                                  R"({"customer": {"id": 42, "first_name": "Ann"}})");
  if (!published) {
    std::cerr << "publish failed: " << published.error().message << "\n";
    return 1;
  }
  std::cout << "event " << published->event_id << " -> " << published->deliveries
            << " deliveries\n";

  // Stop lets requests already handed to the dispatcher finish (up to the drain
  // deadline) and writes their outcomes; anything else would stay queued on disk for
  // the next start.
  engine.stop(std::chrono::seconds(10));
  auto list = engine.deliveries("shop", webhook->id, std::nullopt, std::nullopt, 1).value();
  const auto delivery = engine.delivery("shop", list.deliveries.at(0).uuid).value();
  std::cout << "delivery " << delivery.uuid << " " << delivery.status << " after "
            << delivery.attempts.size() << " attempt(s)\n";
  return delivery.status == "succeeded" ? 0 : 1;
}
