// The Beast body type of responses: keeps the first KiB for the attempt log and counts
// the rest, so draining a body to keep the connection costs no memory.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional/optional.hpp>
#include <boost/system/error_code.hpp>

namespace hookd::engine {

// Bytes of a response body kept for the attempt log (DESIGN.md "Delivery contract").
inline constexpr std::size_t k_excerpt_bytes = 1024;

// Past `limit` bytes a read fails with http::error::body_limit, and the caller drops
// the connection (the rest of the body is never read).
struct excerpt_body {
  struct value_type {
    std::string excerpt;  // the first k_excerpt_bytes
    std::uint64_t size = 0;
    std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
  };

  class reader {
   public:
    template <bool is_request, class Fields>
    reader(boost::beast::http::header<is_request, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>&, boost::system::error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
      std::size_t n = 0;
      for (const auto b : boost::beast::buffers_range_ref(buffers)) {
        const auto room = k_excerpt_bytes - body_.excerpt.size();
        body_.excerpt.append(static_cast<const char*>(b.data()), std::min(room, b.size()));
        n += b.size();
      }
      body_.size += n;
      ec = body_.size > body_.limit
               ? boost::system::error_code(boost::beast::http::error::body_limit)
               : boost::system::error_code();
      return n;
    }

    void finish(boost::system::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace hookd::engine
