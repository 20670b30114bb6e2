#include "body/json_spans.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace leadhook::body {
namespace {

ParseError not_json(std::size_t offset) {
    return error_at("not valid JSON", offset);
}

/// One past the closing quote of the string that opens at `at`, or npos.
std::size_t string_end(std::string_view text, std::size_t at) {
    for (std::size_t i = at + 1; i < text.size(); ++i) {
        if (text[i] == '\\') {
            ++i;
        } else if (text[i] == '"') {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

/// One past the value that starts at `at`, or npos. Arrays and objects are
/// matched by depth, skipping strings; a scalar ends at a delimiter.
std::size_t value_end(std::string_view text, std::size_t at) {
    if (at >= text.size()) {
        return std::string_view::npos;
    }
    if (text[at] == '"') {
        return string_end(text, at);
    }
    if (text[at] != '{' && text[at] != '[') {
        const std::size_t end = text.find_first_of(",}] \t\r\n", at);
        return end == std::string_view::npos ? text.size() : end;
    }
    std::size_t depth = 0;
    for (std::size_t i = at; i < text.size(); ++i) {
        if (text[i] == '"') {
            i = string_end(text, i);
            if (i == std::string_view::npos) {
                return i;
            }
            --i;
        } else if (text[i] == '{' || text[i] == '[') {
            ++depth;
        } else if ((text[i] == '}' || text[i] == ']') && --depth == 0) {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

} // namespace

std::size_t skip_json_space(std::string_view text, std::size_t from) {
    const std::size_t at = text.find_first_not_of(" \t\r\n", from);
    return at == std::string_view::npos ? text.size() : at;
}

Expected<ObjectSpans, ParseError> object_spans(std::string_view text, std::size_t open) {
    if (open >= text.size() || text[open] != '{') {
        return unexpected(not_json(open));
    }
    ObjectSpans spans;
    std::size_t i = skip_json_space(text, open + 1);
    if (i < text.size() && text[i] == '}') {
        spans.close = i;
        return spans;
    }
    while (i < text.size() && text[i] == '"') {
        const std::size_t key_end = string_end(text, i);
        if (key_end == std::string_view::npos) {
            return unexpected(not_json(i));
        }
        const auto key = nlohmann::json::parse(text.substr(i, key_end - i), nullptr, false);
        const std::size_t colon = skip_json_space(text, key_end);
        if (!key.is_string() || colon >= text.size() || text[colon] != ':') {
            return unexpected(not_json(i));
        }
        const std::size_t begin = skip_json_space(text, colon + 1);
        const std::size_t end = value_end(text, begin);
        if (end == std::string_view::npos || end == begin) {
            return unexpected(not_json(begin));
        }
        spans.members.push_back({key.get<std::string>(), begin, end});
        i = skip_json_space(text, end);
        if (i < text.size() && text[i] == '}') {
            spans.close = i;
            return spans;
        }
        if (i >= text.size() || text[i] != ',') {
            return unexpected(not_json(i));
        }
        i = skip_json_space(text, i + 1);
    }
    return unexpected(not_json(i));
}

} // namespace leadhook::body
