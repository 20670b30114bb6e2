#include "body/json.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace leadhook::body {
namespace {

/// A repeated key named in an error only when it is short, printable ASCII.
std::string describe_key(const std::string& key) {
    const bool printable = key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
                               return c >= 0x20 && c <= 0x7e;
                           });
    return printable ? " \"" + key + "\"" : "";
}

/// The first key some object of `text` (valid JSON) repeats, if any.
std::optional<std::string> first_repeated_key(std::string_view text) {
    std::vector<std::set<std::string>> open_objects;
    std::optional<std::string> repeated;
    const auto track_keys = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using Event = nlohmann::json::parse_event_t;
        if (event == Event::object_start) {
            open_objects.emplace_back();
        } else if (event == Event::object_end && !open_objects.empty()) {
            open_objects.pop_back();
        } else if (event == Event::key && !open_objects.empty() && !repeated &&
                   !open_objects.back().insert(parsed.get<std::string>()).second) {
            repeated = parsed.get<std::string>();
        }
        return true;
    };
    try {
        [[maybe_unused]] const auto doc = nlohmann::json::parse(text, track_keys);
    } catch (const nlohmann::json::exception&) {
        // parse_json() parsed it already: this cannot fail.
    }
    return repeated;
}

} // namespace

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

Expected<nlohmann::json, ParseError> parse_json(std::string_view text, std::size_t max_depth) {
    if (nesting_depth(text) > max_depth) {
        return unexpected(
            ParseError{"JSON nested deeper than " + std::to_string(max_depth) + " levels"});
    }
    // nlohmann keeps the last of a repeated key; another reader could take
    // the first, so a repeated key is refused rather than silently resolved.
    // Counting the keys each object read is enough to notice one (the object
    // then holds fewer members); which key it was is looked for only then.
    using Event = nlohmann::json::parse_event_t;
    std::vector<std::size_t> keys_read;
    bool repeats = false;
    const auto count_keys = [&](int, Event event, nlohmann::json& parsed) {
        if (event == Event::object_start) {
            keys_read.push_back(0);
        } else if (event == Event::key && !keys_read.empty()) {
            ++keys_read.back();
        } else if (event == Event::object_end && !keys_read.empty()) {
            repeats = repeats || keys_read.back() != parsed.size();
            keys_read.pop_back();
        }
        return true;
    };
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text, count_keys);
    } catch (const nlohmann::json::out_of_range&) {
        // Valid JSON, but nlohmann refuses a number no double can hold (1e400).
        return unexpected(ParseError{"JSON number out of range (larger than a double can hold)"});
    } catch (const nlohmann::json::exception&) {
        return unexpected(ParseError{"body is not valid JSON"});
    }
    if (repeats) {
        const auto key = first_repeated_key(text);
        return unexpected(
            ParseError{"JSON object repeats the key" + (key ? describe_key(*key) : "")});
    }
    return doc;
}

} // namespace leadhook::body
