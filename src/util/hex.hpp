#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook {

/// The value of one hex digit of either case, or -1.
int hex_digit_value(char c);

/// Lower-case hex of `bytes`.
std::string to_hex(std::span<const unsigned char> bytes);
/// Lower-case hex of the bytes of a string (a raw digest, say).
std::string to_hex(std::string_view bytes);

/// Decodes hex of either case; nullopt on an odd length or a non-hex digit.
std::optional<std::vector<unsigned char>> from_hex(std::string_view hex);

} // namespace leadhook
