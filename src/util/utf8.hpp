#pragma once
#include <string>
#include <string_view>

namespace leadhook {

/// `text` with every invalid UTF-8 sequence and every NUL replaced by U+FFFD.
/// PostgreSQL rejects both in text and jsonb; a webhook must not fail on them.
std::string to_storable_utf8(std::string_view text);

} // namespace leadhook
