#pragma once
// `leadhook sign --curl URL`: one shell command that posts a body with curl
// and reproduces its bytes exactly, CRLFs of multipart bodies included.
#include "util/expected.hpp"

#include <string>
#include <string_view>

namespace leadhook::devtools {

/// `url` as is when it has a path; a base (scheme://host[:port], with or
/// without a trailing slash) gets `route` appended. Only http and https;
/// an error message otherwise.
Expected<std::string, std::string> target_url(std::string_view url, std::string_view route);

/// `text` as one POSIX shell word in single quotes.
std::string shell_quote(std::string_view text);

/// printf '%b' '<body with \r, \n, \\ and other bytes escaped>' | curl -sS -X POST
///   -H 'Content-Type: ...' --data-binary @- -w '\nHTTP %{http_code} %{url_effective}\n' 'URL'
/// on one line, for bash or any POSIX sh; the escapes make it survive copy
/// and paste through a terminal.
std::string curl_command(std::string_view body, std::string_view content_type,
                         std::string_view url);

} // namespace leadhook::devtools
