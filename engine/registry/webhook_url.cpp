// The one parser of webhook URLs (Boost.URL): strict at validation, lenient for records
// already stored, each refusal naming the rule it broke.
#include "engine/registry/webhook_url.hpp"

#include <algorithm>
#include <charconv>

#include <boost/url/parse.hpp>

namespace hookd::engine {
namespace {

namespace urls = boost::urls;

enum class rules {
  new_webhook,  // everything parse_webhook_url promises
  stored,       // what a request can be made to (parse_stored_webhook_url)
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Boost.URL 1.81 reads "http://h:8a/" as port "8" and path "a/", and accepts any run of
// digits as a port; both are refused here with the text after the colon.
explained<std::uint16_t> port_of(const urls::url_view& u, bool https) {
  const std::uint16_t default_port = https ? 443 : 80;
  const std::string_view path = u.encoded_path();
  std::string_view written = u.port();
  if (!path.empty() && path.front() != '/') {
    const std::string_view junk = path.substr(0, path.find('/'));
    return explained_error("must have a port from 1 to 65535 after the host, got " +
                           quoted(std::string(written) + std::string(junk)));
  }
  if (!u.has_port() || written.empty()) return default_port;  // "http://h:/" is the default
  unsigned long value = 0;
  const auto [end, ec] = std::from_chars(written.data(), written.data() + written.size(), value);
  if (ec != std::errc() || end != written.data() + written.size() || value == 0 || value > 65535) {
    return explained_error("must have a port from 1 to 65535, got " + quoted(written));
  }
  return static_cast<std::uint16_t>(value);
}

explained<webhook_url> parse(std::string_view text, rules r) {
  const bool strict = r == rules::new_webhook;
  if (text.empty()) return explained_error("must not be empty");
  if (strict && text.size() > k_max_url_bytes) {
    return explained_error("must be at most " + std::to_string(k_max_url_bytes) + " bytes, got " +
                           std::to_string(text.size()));
  }
  // parse_uri, not parse_absolute_uri: it also reads a fragment, so that one can be
  // refused by name rather than as "leftover" text.
  const auto parsed = urls::parse_uri(text);
  if (!parsed) {
    return explained_error("must be an absolute http or https URL (" + parsed.error().message() +
                           ")");
  }
  const urls::url_view& u = *parsed;
  webhook_url out;
  if (u.scheme_id() == urls::scheme::https) {
    out.https = true;
  } else if (u.scheme_id() != urls::scheme::http) {
    return explained_error("must use http or https, got " + quoted(lower(u.scheme())));
  }
  if (!u.has_authority() || u.encoded_host().empty()) return explained_error("must have a host");
  if (strict && u.has_userinfo()) {
    return explained_error(
        "must not contain user-info (\"user:password@\"): it is never sent; put a token in "
        "the path or query instead");
  }
  if (strict && u.has_fragment()) {
    return explained_error("must not contain a fragment (\"#...\"): it is never sent");
  }

  // The host as it appears in the origin and the Host header: IPv6 in brackets.
  std::string authority_host;
  switch (u.host_type()) {
    case urls::host_type::ipv4: {
      const auto a = u.host_ipv4_address();
      const auto b = a.to_bytes();
      out.host_kind = url_host_kind::ipv4;
      out.address[10] = 0xff;
      out.address[11] = 0xff;
      std::copy(b.begin(), b.end(), out.address.begin() + 12);
      out.host = a.to_string();
      authority_host = out.host;
      break;
    }
    case urls::host_type::ipv6: {
      const auto a = u.host_ipv6_address();
      const auto b = a.to_bytes();
      out.host_kind = url_host_kind::ipv6;
      std::copy(b.begin(), b.end(), out.address.begin());
      out.host = a.to_string();
      authority_host = "[" + out.host + "]";
      break;
    }
    case urls::host_type::ipvfuture:
      return explained_error("must not use an IPvFuture host (" + quoted(u.encoded_host()) +
                             "); use a name, an IPv4 or an IPv6 address");
    default:
      if (u.encoded_host().find('%') != std::string_view::npos) {
        return explained_error("must not percent-encode the host name, got " +
                               quoted(u.encoded_host()));
      }
      out.host = lower(u.encoded_host());
      authority_host = out.host;
      break;
  }

  auto port = port_of(u, out.https);
  if (!port) return port.error();
  out.port = *port;
  char digits[8];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, out.port);
  const std::string_view port_text(digits, static_cast<std::size_t>(end - digits));

  out.origin = std::string(out.https ? "https://" : "http://") + authority_host + ":" +
               std::string(port_text);
  out.host_header = authority_host;
  if (out.port != (out.https ? 443 : 80)) out.host_header += ":" + std::string(port_text);
  out.target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) out.target += "?" + std::string(u.encoded_query());
  return out;
}

}  // namespace

explained<webhook_url> parse_webhook_url(std::string_view text) {
  return parse(text, rules::new_webhook);
}

webhook_url parse_stored_webhook_url(std::string_view text) {
  auto parsed = parse(text, rules::stored);
  if (parsed) return std::move(*parsed);
  webhook_url out;
  out.origin = std::string(text);
  out.undeliverable =
      "the webhook's url was stored under older rules and cannot be delivered: it " +
      parsed.error().message + "; change the webhook's url";
  return out;
}

}  // namespace hookd::engine
