#pragma once
// HttpTransport over libcurl: TLS verification on (the system's CA store),
// bounded time and size, and libcurl's usual proxy variables (https_proxy,
// http_proxy, no_proxy, all_proxy) honoured.
#include "net/http.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace leadhook::net {

struct CurlLimits {
    std::chrono::seconds connect_timeout{10};
    std::chrono::seconds total_timeout{120}; ///< a whole request, answer included
    std::size_t max_body_bytes = 64 << 20;   ///< a larger answer fails the request
};

class CurlTransport final : public HttpTransport {
  public:
    /// `user_agent` names the client to the API ("leadhook/1.2.3").
    CurlTransport(std::string user_agent, CurlLimits limits = {});
    ~CurlTransport() override;
    CurlTransport(const CurlTransport&) = delete;
    CurlTransport& operator=(const CurlTransport&) = delete;

    Expected<HttpResponse, TransportError> send(const HttpRequest& request) override;

  private:
    struct Handle;
    std::unique_ptr<Handle> m_handle; ///< one easy handle: connections are kept alive
    std::string m_user_agent;
    CurlLimits m_limits;
};

} // namespace leadhook::net
