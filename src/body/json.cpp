#include "body/json.hpp"

namespace leadhook::body {
namespace {

/// Deepest nesting of arrays and objects, ignoring brackets inside strings.
std::size_t nesting_depth(std::string_view text) {
    std::size_t depth = 0;
    std::size_t deepest = 0;
    bool in_string = false;
    bool escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            deepest = std::max(deepest, ++depth);
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

} // namespace

Expected<nlohmann::json, ParseError> parse_json(std::string_view text, std::size_t max_depth) {
    if (nesting_depth(text) > max_depth) {
        return unexpected(
            ParseError{"JSON nested deeper than " + std::to_string(max_depth) + " levels"});
    }
    auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
        return unexpected(ParseError{"body is not valid JSON"});
    }
    return doc;
}

} // namespace leadhook::body
