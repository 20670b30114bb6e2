#pragma once
// Where the members of a JSON object are, byte for byte. nlohmann gives
// values, not positions; a tool that rewrites one member and must leave
// every other byte as it was (re-signing, devtools/resign.hpp) needs both. Only
// for text parse_json() accepted: it finds, it does not validate.
#include "body/fields.hpp"
#include "util/expected.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook::body {

struct MemberSpan {
    std::string key;         ///< decoded
    std::size_t value_begin; ///< the value's first byte
    std::size_t value_end;   ///< one past its last byte
};

struct ObjectSpans {
    std::vector<MemberSpan> members; ///< in the order they are written
    std::size_t close;               ///< offset of the closing '}'
};

/// The members of the object whose '{' is at `open` in `text` (valid JSON).
/// An error only for text that is not.
Expected<ObjectSpans, ParseError> object_spans(std::string_view text, std::size_t open);

/// Offset of the first byte of `text` that is not JSON whitespace.
std::size_t skip_json_space(std::string_view text, std::size_t from);

} // namespace leadhook::body
