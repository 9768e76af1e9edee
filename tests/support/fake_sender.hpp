// A scripted stand-in for the dispatcher's HTTP sender (engine/delivery/sender.hpp):
// each URL answers from its script of outcomes (200, 500, 503 with Retry-After, a
// timeout, ...), a request can be held until the test releases it, and an attempt
// can throw as a crashing one would. It counts attempts per URL and the most
// requests one origin had under way at once. No sockets: a held request waits on an
// Asio timer of its worker's io_context, never on a sleep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/delivery/sender.hpp"
#include "engine/http/client.hpp"

namespace hookd::test {

// One scripted answer.
struct fake_reply {
  engine::http_outcome outcome;
  bool hold = false;   // the request waits until the test releases it
  bool crash = false;  // send() throws instead of answering (a bug in an attempt)

  // A response with this status (2xx succeed, anything else is an http_status error).
  static fake_reply status(unsigned code, std::string retry_after = {});
  // No response: a transport failure of this kind.
  static fake_reply failure(engine::error_kind kind);
  static fake_reply crashing();
  // The same answer, given only when the test releases the request.
  fake_reply held() const;
};

// What a request carried, as the receiver saw it.
struct fake_request {
  std::string method;
  std::string url;
  std::string body;
  std::string delivery;  // the webhook-id header: the delivery's uuid
};

class fake_receivers {
 public:
  fake_receivers();
  ~fake_receivers();
  fake_receivers(const fake_receivers&) = delete;
  fake_receivers& operator=(const fake_receivers&) = delete;

  // Requests to `url` get these answers in order; the last one repeats once the
  // script is used up. A URL without a script answers 200.
  void script(const std::string& url, std::vector<fake_reply> replies);
  // The dispatcher's sender factory: one sender per worker, all sharing this state.
  engine::sender_factory senders();
  // Called (outside any lock) when a request starts, is held, or ends.
  void on_event(std::function<void()> fn);

  std::size_t attempts(std::string_view url) const;
  std::size_t attempts() const;  // every URL
  std::vector<fake_request> requests(std::string_view url) const;
  // Requests of `url` waiting for release() right now.
  std::size_t held(std::string_view url) const;
  // The most requests to `origin` ("http://host:port") that were under way at once.
  std::size_t max_concurrent(std::string_view origin) const;
  // Starts counting max_concurrent afresh from what is under way now.
  void reset_max_concurrent(std::string_view origin);
  // Lets the oldest held request of `url` answer; false when none is held.
  bool release(std::string_view url);

  // "http://host:port/path" -> "http://host:port".
  static std::string origin_of(std::string_view url);

 private:
  struct state;
  class sender;
  std::shared_ptr<state> state_;
};

}  // namespace hookd::test
