#pragma once
// The only place that turns bytes into nlohmann::json. It bounds nesting
// first, so a hostile body cannot recurse the parser into the stack guard.
#include "body/fields.hpp"
#include "util/expected.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>

namespace leadhook::body {

constexpr std::size_t default_max_json_depth = Limits{}.max_json_depth;

/// Deepest nesting of arrays and objects in `text`, ignoring brackets inside
/// strings; linear, no recursion. For JSON that is parsed without parse_json.
std::size_t nesting_depth(std::string_view text);

/// Refuses nesting past `max_depth` and an object that repeats a key.
Expected<nlohmann::json, ParseError> parse_json(std::string_view text,
                                                std::size_t max_depth = default_max_json_depth);

} // namespace leadhook::body
