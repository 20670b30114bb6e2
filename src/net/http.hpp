#pragma once
// HTTP requests and answers as values, and the one thing the backfill needs
// from a client: send a request, get the answer. The libcurl implementation
// is net/curl_transport; tests of the use case can run against a local
// server through it, or against anything that implements HttpTransport.
#include "util/expected.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace leadhook::net {

struct HttpRequest {
    std::string method = "GET"; ///< GET or POST
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// HTTP basic authentication; never logged.
    std::string user, password;
};

struct HttpResponse {
    long status = 0;
    std::string body;
    // Headers that say when to ask again, as sent. Mailgun documents none;
    // its Go SDK reads X-RateLimit-Reset (Unix seconds) on a 429, and its
    // answers carry X-Request-Reset (Unix milliseconds).
    std::optional<std::string> retry_after;
    std::optional<std::string> rate_limit_reset;
    std::optional<std::string> request_reset;
};

/// The request got no HTTP answer: refused, reset, timed out, TLS failed.
struct TransportError {
    std::string message; ///< libcurl's description; never a credential
    bool tls = false;    ///< the peer's certificate or the TLS handshake failed
};

class HttpTransport {
  public:
    virtual ~HttpTransport() = default;
    virtual Expected<HttpResponse, TransportError> send(const HttpRequest& request) = 0;
};

} // namespace leadhook::net
