#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace leadhook {

/// U+FFFD REPLACEMENT CHARACTER, encoded.
inline constexpr std::string_view utf8_replacement = "\xEF\xBF\xBD";

/// `text` with every invalid UTF-8 sequence and every NUL replaced by U+FFFD.
/// PostgreSQL rejects both in text and jsonb; a webhook must not fail on them.
std::string to_storable_utf8(std::string_view text);

/// Length of the valid UTF-8 sequence starting at `text[i]`, or 0 when it is
/// invalid or NUL: what to_storable_utf8 keeps, or replaces one byte of.
std::size_t storable_utf8_length(std::string_view text, std::size_t i);

} // namespace leadhook
