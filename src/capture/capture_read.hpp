#pragma once
// Reading a capture file back (capture_format.hpp writes them): the request
// line, the headers to send again, leadhook's X-Leadhook-* metadata and the
// body, cut to Content-Length. Pure; `leadhook read-capture` uses it for
// scripts/replay. Accepts LF as well as CRLF line ends, for files edited by
// hand.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/expected.hpp"

namespace leadhook::capture {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct CapturedRequest {
    std::string method;
    std::string target;  ///< path and query, as in the request line
    HeaderList headers;  ///< in order, without X-Leadhook-*
    HeaderList metadata; ///< the X-Leadhook-* lines, names lower-cased
    std::string body;

    /// The first header of this name (any case), or nullptr.
    const std::string* header(std::string_view name) const;
};

/// The request in `file`, or what is wrong with it ("no empty line after the
/// headers", "truncated: ...", a body capture did not keep, ...).
Expected<CapturedRequest, std::string> parse_capture(std::string_view file);

} // namespace leadhook::capture
