#pragma once
// The request and response as value types. The FastCGI edge fills a Request
// and writes a Response; everything between is pure and testable.
#include "util/clock.hpp"

#include <string>
#include <utility>
#include <vector>

namespace leadhook::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
    std::string method{};       ///< "GET", "POST", ...
    std::string path{};         ///< decoded path without the query string
    std::string content_type{}; ///< the Content-Type header, verbatim; empty if absent
    std::string body{};
    bool body_too_large = false; ///< the edge refused to read past the limit
    /// The edge did not read the body: the bytes in flight were at their bound.
    bool over_budget = false;
    /// The request did not arrive as declared (a body whose length differs
    /// from CONTENT_LENGTH, a stream that broke off, FastCGI parameters over
    /// their bounds); empty when it did.
    std::string body_error{};
    std::string remote_addr{};
    std::string request_id{};  ///< nginx's $request_id when passed, else one we made
    EpochMicros received_at{}; ///< from the injected clock
    /// The few request headers worth keeping (User-Agent, X-Forwarded-For...),
    /// for capture mode; the rest of the handling never looks at them.
    Headers headers{};
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    Headers headers{}; ///< besides Content-Type
    std::string body{};
};

/// "OK", "Not Acceptable", ... for the status line; "Unknown" if we never send it.
const char* reason_phrase(int status);

} // namespace leadhook::http
