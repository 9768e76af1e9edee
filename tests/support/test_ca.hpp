// A certificate authority generated during a test (OpenSSL), to serve https from a
// local receiver with a certificate the engine trusts only when told to.
#pragma once

#include <filesystem>
#include <string>

namespace hookd::test {

struct issued_certificate {
  std::string cert_file;  // PEM: leaf certificate
  std::string key_file;   // PEM: its private key
};

class test_ca {
 public:
  // Generates a fresh CA key and self-signed CA certificate under `dir`.
  explicit test_ca(const std::filesystem::path& dir, const std::string& name = "hookd test CA");
  ~test_ca();
  test_ca(const test_ca&) = delete;
  test_ca& operator=(const test_ca&) = delete;

  // PEM file of the CA certificate, to trust.
  const std::string& ca_file() const noexcept { return ca_file_; }
  // Issues a leaf certificate for `host` (an IP literal goes into the IP SAN, a name
  // into the DNS SAN), signed by this CA.
  issued_certificate issue(const std::string& host, const std::string& file_stem);

 private:
  struct impl;
  impl* impl_;
  std::filesystem::path dir_;
  std::string ca_file_;
};

}  // namespace hookd::test
