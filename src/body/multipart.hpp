#pragma once
// multipart/form-data (RFC 7578 over RFC 2046), as legacy Mailgun posts
// bounced/dropped/complained events, which may carry the original message as
// an attachment. Attachments are measured, never kept: we store events, not mail.
#include "body/fields.hpp"
#include "util/expected.hpp"

#include <cstddef>
#include <string_view>

namespace leadhook::body {

/// RFC 2046 section 5.1.1 allows boundaries of 1 to 70 characters.
constexpr std::size_t max_boundary_bytes = 70;

/// Parses `body` delimited by `boundary` (the Content-Type parameter, without
/// the leading "--"). Accepts CRLF or bare LF line breaks, a preamble and an
/// epilogue, and transport padding after delimiters. Each part needs
/// `Content-Disposition: form-data; name="..."`; a part with a filename is an
/// attachment: `filename` and `size` are set and `value` stays empty; so it
/// does for a part whose name is not in `keep` (when that is not empty).
/// Runs in time linear in the body size and never throws except std::bad_alloc.
Expected<Fields, ParseError> parse_multipart(std::string_view body, std::string_view boundary,
                                             const Limits& limits = {}, ValueFilter keep = {});

/// Where the closing delimiter line ("--boundary--") that parse_multipart
/// stops at starts, at its first '-'; npos when there is none. For a tool
/// that adds a part to a body leadhook accepts.
std::size_t closing_delimiter(std::string_view body, std::string_view boundary);

} // namespace leadhook::body
