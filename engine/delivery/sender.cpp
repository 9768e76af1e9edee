// The HTTP client as the dispatcher's sender.
#include "engine/delivery/sender.hpp"

#include <boost/asio/io_context.hpp>

namespace hookd::engine {
namespace {

class http_sender final : public sender {
 public:
  http_sender(boost::asio::io_context& ioc, const http_client_options& options)
      : client_(ioc.get_executor(), options) {}
  boost::asio::awaitable<http_outcome> send(http_request request) override {
    return client_.send(request);
  }
  void close_all() override { client_.close_all(); }
  std::uint64_t connections_opened() const override { return client_.stats().connections_opened; }
  std::uint64_t stale_retries() const override { return client_.stats().stale_retries; }

 private:
  http_client client_;
};

}  // namespace

sender_factory http_senders(http_client_options options) {
  return [options = std::move(options)](boost::asio::io_context& ioc) -> std::unique_ptr<sender> {
    return std::make_unique<http_sender>(ioc, options);
  };
}

}  // namespace hookd::engine
