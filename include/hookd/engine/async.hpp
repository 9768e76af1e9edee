// engine::publish from a host's Asio event loop: async_publish takes any completion
// token (a callback, boost::asio::use_awaitable, use_future, deferred, ...) and never
// blocks the calling thread, so a Beast or gRPC handler publishes without holding its
// thread while RocksDB writes.
//
//   hookd::engine::publish_request request{.account = "shop", .type = "customer_created",
//                                           .payload = body, .event_id = std::nullopt};
//   auto published = co_await hookd::engine::async_publish(engine, std::move(request),
//                                                           boost::asio::use_awaitable);
//   if (!published) ...published.error().message...
//
// Name the request rather than writing it as a braced temporary inside the co_await:
// GCC 12 (Debian 12's) destroys such a temporary twice.
//
// The completion signature is void(outcome<publish_result>): the same answer as
// engine::publish. It runs on the handler's associated executor (as if posted there),
// so with use_awaitable the coroutine resumes on its own executor; a plain callback has
// the system executor and runs on a thread of Asio's. It cannot be cancelled: once
// submitted, the publish happens or fails. Only this header
// includes Asio, and it is the host's Asio in the host's mode: nothing of Asio crosses
// into libhookd (engine::publish_async takes a plain callback).
#pragma once

#include <memory>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "hookd/engine/engine.hpp"

namespace hookd::engine {

namespace detail {

template <class Handler>
struct publish_completion {
  using executor_type = boost::asio::associated_executor_t<Handler>;
  Handler handler;
  boost::asio::executor_work_guard<executor_type> work;

  explicit publish_completion(Handler h)
      : handler(std::move(h)), work(boost::asio::get_associated_executor(handler)) {}
};

struct initiate_publish {
  engine* target;

  template <class Handler>
  void operator()(Handler&& handler, publish_request request) const {
    using completion = publish_completion<std::decay_t<Handler>>;
    // std::function needs a copyable callable; the handler may be move-only.
    auto pending = std::make_shared<completion>(std::forward<Handler>(handler));
    target->publish_async(std::move(request), [pending](outcome<publish_result> answer) {
      auto executor = pending->work.get_executor();
      boost::asio::post(executor, [pending, answer = std::move(answer)]() mutable {
        std::move(pending->handler)(std::move(answer));
        pending->work.reset();
      });
    });
  }
};

}  // namespace detail

template <class CompletionToken>
auto async_publish(engine& target, publish_request request, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(outcome<publish_result>)>(
      detail::initiate_publish{&target}, token, std::move(request));
}

}  // namespace hookd::engine
