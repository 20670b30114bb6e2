#pragma once
// The only place that turns bytes into nlohmann::json. It bounds nesting
// first, so a hostile body cannot recurse the parser into the stack guard.
#include "body/fields.hpp"
#include "util/expected.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leadhook::body {

constexpr std::size_t default_max_json_depth = Limits{}.max_json_depth;

/// Deepest nesting of arrays and objects in `text`, ignoring brackets inside
/// strings; linear, no recursion. For JSON that is parsed without parse_json.
std::size_t nesting_depth(std::string_view text);

/// Refuses nesting past `max_depth` and an object that repeats a key.
Expected<nlohmann::json, ParseError> parse_json(std::string_view text,
                                                std::size_t max_depth = default_max_json_depth);

/// The members of the object that the top-level object holds under `key`:
/// those named in `wanted` whose value is a string (as it is) or a whole
/// number (its digits). Read in one pass that builds no tree and stops at
/// the end of that object, so that an unverified body costs no more than
/// the text up to its signature (Mailgun puts it first). nullopt when there
/// is no such object. Refuses nesting past `max_depth` (over the whole
/// text), a top-level value that is not an object, and, up to the object's
/// end, what parse_json refuses for syntax and `key` repeated at the top;
/// what follows is parse_json's to refuse, once the body is verified.
using Members = std::vector<std::pair<std::string, std::string>>;
Expected<std::optional<Members>, ParseError>
scan_json_object(std::string_view text, std::string_view key, ValueFilter wanted,
                 std::size_t max_depth = default_max_json_depth);

} // namespace leadhook::body
