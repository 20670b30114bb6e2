#include "net/curl_transport.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace leadhook::net {
namespace {

/// libcurl's global state, once per process, before any handle.
void init_curl_once() {
    static const CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (initialised != CURLE_OK) {
        throw std::runtime_error(std::string("curl_global_init: ") +
                                 curl_easy_strerror(initialised));
    }
}

struct SlistFree {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistFree>;

/// What the callbacks fill while a request runs.
struct Received {
    std::string body;
    std::optional<std::string> retry_after, rate_limit_reset, request_reset;
    std::size_t max_body_bytes;
    bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* received = static_cast<Received*>(user);
    const std::size_t n = size * count;
    if (received->body.size() + n > received->max_body_bytes) {
        received->too_large = true;
        return 0; // libcurl fails the transfer with CURLE_WRITE_ERROR
    }
    received->body.append(data, n);
    return n;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b));
           });
}

/// The value of header `name` (lower case, with the colon) if `line` is it.
std::optional<std::string> header_value(std::string_view line, std::string_view name) {
    if (!starts_with_nocase(line, name)) {
        return std::nullopt;
    }
    line.remove_prefix(name.size());
    const auto first = line.find_first_not_of(" \t");
    const auto last = line.find_last_not_of(" \t\r\n");
    return first == std::string_view::npos ? "" : std::string(line.substr(first, last - first + 1));
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* received = static_cast<Received*>(user);
    const std::size_t n = size * count;
    const std::string_view line(data, n);
    if (starts_with_nocase(line, "HTTP/")) { // a new answer (after a 100 or a redirect)
        received->retry_after.reset();
        received->rate_limit_reset.reset();
        received->request_reset.reset();
    }
    for (auto [name, field] : {std::pair{"retry-after:", &received->retry_after},
                               std::pair{"x-ratelimit-reset:", &received->rate_limit_reset},
                               std::pair{"x-request-reset:", &received->request_reset}}) {
        if (auto value = header_value(line, name)) {
            *field = std::move(value);
        }
    }
    return n;
}

} // namespace

struct CurlTransport::Handle {
    struct EasyCleanup {
        void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
    };
    std::unique_ptr<CURL, EasyCleanup> easy;
};

CurlTransport::CurlTransport(std::string user_agent, CurlLimits limits)
    : m_user_agent(std::move(user_agent)), m_limits(limits) {
    init_curl_once();
    m_handle = std::make_unique<Handle>();
    m_handle->easy.reset(curl_easy_init());
    if (!m_handle->easy) {
        throw std::runtime_error("curl_easy_init failed");
    }
}

CurlTransport::~CurlTransport() = default;

Expected<HttpResponse, TransportError> CurlTransport::send(const HttpRequest& request) {
    CURL* easy = m_handle->easy.get();
    curl_easy_reset(easy); // options only: kept-alive connections and caches stay
    Received received{{}, {}, {}, {}, m_limits.max_body_bytes};
    char error[CURL_ERROR_SIZE] = {};
    Slist headers;
    for (const auto& [name, value] : request.headers) {
        const std::string line = name + ": " + value;
        curl_slist* grown = curl_slist_append(headers.get(), line.c_str());
        if (grown == nullptr) {
            return unexpected(TransportError{"out of memory building headers"});
        }
        (void)headers.release(); // now owned through `grown`
        headers.reset(grown);
    }
    const bool post = request.method == "POST";
    const std::string credentials = request.user + ":" + request.password;
    // Each setopt is checked: an option this libcurl lacks must not be
    // silently ignored (TLS verification above all).
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(easy, option, value);
        }
    };
    set(CURLOPT_ERRORBUFFER, error);
    set(CURLOPT_URL, request.url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_CONNECTTIMEOUT, static_cast<long>(m_limits.connect_timeout.count()));
    set(CURLOPT_TIMEOUT, static_cast<long>(m_limits.total_timeout.count()));
    set(CURLOPT_USERAGENT, m_user_agent.c_str());
    set(CURLOPT_ACCEPT_ENCODING, ""); // whatever this libcurl can decode
    set(CURLOPT_WRITEFUNCTION, &on_body);
    set(CURLOPT_WRITEDATA, &received);
    set(CURLOPT_HEADERFUNCTION, &on_header);
    set(CURLOPT_HEADERDATA, &received);
    if (!request.user.empty()) {
        set(CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
        set(CURLOPT_USERPWD, credentials.c_str());
    }
    if (headers) {
        set(CURLOPT_HTTPHEADER, headers.get());
    }
    if (post) {
        set(CURLOPT_POST, 1L);
        set(CURLOPT_POSTFIELDS, request.body.data());
        set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
    if (rc != CURLE_OK) {
        return unexpected(
            TransportError{std::string("libcurl refused an option: ") + curl_easy_strerror(rc)});
    }
    rc = curl_easy_perform(easy);
    if (rc != CURLE_OK) {
        std::string message = error[0] != '\0' ? error : curl_easy_strerror(rc);
        if (received.too_large) {
            message = "the answer is larger than " + std::to_string(m_limits.max_body_bytes >> 20) +
                      " MiB";
        }
        const bool tls = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
                         rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM;
        return unexpected(TransportError{std::move(message), tls});
    }
    long status = 0;
    if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
        return unexpected(TransportError{"no HTTP status in the answer"});
    }
    return HttpResponse{status, std::move(received.body), std::move(received.retry_after),
                        std::move(received.rate_limit_reset), std::move(received.request_reset)};
}

} // namespace leadhook::net
