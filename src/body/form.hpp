#pragma once
// application/x-www-form-urlencoded, as legacy Mailgun webhooks post
// delivered/opened/clicked/unsubscribed events. Strict about escapes, because
// a silently mis-decoded token or signature would fail verification later
// with a far less helpful message.
#include "body/fields.hpp"
#include "util/expected.hpp"

#include <string>
#include <string_view>

namespace leadhook::body {

/// Splits on '&', skips empty pairs; a pair without '=' is a name with an empty
/// value; '+' is a space and %XX a byte. Values are bytes, not checked as UTF-8.
/// Errors: a malformed escape (with its byte offset), an empty name, and the limits.
/// Only the values of names in `keep` are decoded and kept (all when empty);
/// the others are checked all the same.
Expected<Fields, ParseError> parse_urlencoded(std::string_view body, const Limits& limits = {},
                                              ValueFilter keep = {});

/// The other way: one name or value as a form encodes it: unreserved bytes
/// (A-Z a-z 0-9 - . _ ~) as they are, space as '+', the rest %XX. Also a
/// query string's values, and a path segment without spaces.
std::string url_encode(std::string_view text);

} // namespace leadhook::body
