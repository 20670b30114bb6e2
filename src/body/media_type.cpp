#include "body/media_type.hpp"

#include <algorithm>
#include <optional>

namespace leadhook::body {
namespace {

bool is_whitespace(char c) {
    return c == ' ' || c == '\t';
}
bool is_obs_text(char c) {
    return static_cast<unsigned char>(c) >= 0x80;
}
bool is_visible(char c) {
    return c >= 0x21 && c <= 0x7e;
}

bool is_tchar(char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

bool is_quoted_text(char c) {
    return c == '\t' || c == ' ' || (is_visible(c) && c != '"' && c != '\\') || is_obs_text(c);
}
bool is_escapable(char c) {
    return c == '\t' || c == ' ' || is_visible(c) || is_obs_text(c);
}

// Wider than a token: clients send boundaries such as `a/b=c` unquoted, and
// rejecting those would drop real webhooks for no safety gain.
bool is_bare_value_char(char c) {
    return (is_visible(c) && c != ';' && c != '"') || is_obs_text(c);
}

char to_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view text) {
    std::string lowered(text);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](char c) { return to_lower(c); });
    return lowered;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_whitespace(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_whitespace(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

class Cursor {
  public:
    Cursor(std::string_view text, std::size_t position) : m_text(text), m_position(position) {}

    bool at_end() const { return m_position >= m_text.size(); }
    char peek() const { return m_text[m_position]; }
    char take() { return m_text[m_position++]; }
    std::size_t position() const { return m_position; }

    bool consume(char expected) {
        if (at_end() || peek() != expected) {
            return false;
        }
        ++m_position;
        return true;
    }
    void skip_whitespace() {
        while (!at_end() && is_whitespace(peek())) {
            ++m_position;
        }
    }
    template <typename Predicate> std::string_view take_while(Predicate matches) {
        std::size_t start = m_position;
        while (!at_end() && matches(peek())) {
            ++m_position;
        }
        return m_text.substr(start, m_position - start);
    }

  private:
    std::string_view m_text;
    std::size_t m_position;
};

Expected<std::string, ParseError> parse_quoted_string(Cursor& cursor) {
    const std::size_t opening = cursor.position();
    cursor.consume('"');
    std::string value;
    while (!cursor.at_end()) {
        char c = cursor.take();
        if (c == '"') {
            return value;
        }
        if (c == '\\') {
            if (cursor.at_end()) {
                break;
            }
            c = cursor.take();
            if (!is_escapable(c)) {
                return unexpected(
                    error_at("control character in quoted string", cursor.position() - 1));
            }
        } else if (!is_quoted_text(c)) {
            return unexpected(
                error_at("control character in quoted string", cursor.position() - 1));
        }
        value += c;
    }
    return unexpected(error_at("unterminated quoted string starting", opening));
}

Expected<std::string, ParseError> parse_value(Cursor& cursor, std::string_view name) {
    if (!cursor.at_end() && cursor.peek() == '"') {
        return parse_quoted_string(cursor);
    }
    const std::size_t start = cursor.position();
    std::string_view bare = cursor.take_while(is_bare_value_char);
    if (bare.empty()) {
        return unexpected(error_at("parameter '" + std::string(name) + "' has no value", start));
    }
    return std::string(bare);
}

Expected<std::pair<std::string, std::string>, ParseError> parse_parameter(Cursor& cursor) {
    const std::size_t start = cursor.position();
    std::string_view name = cursor.take_while(is_tchar);
    if (name.empty()) {
        return unexpected(error_at("expected a parameter name", start));
    }
    cursor.skip_whitespace();
    if (!cursor.consume('=')) {
        return unexpected(error_at("parameter '" + std::string(name) + "' has no '='", start));
    }
    cursor.skip_whitespace();
    auto value = parse_value(cursor, name);
    if (!value) {
        return unexpected(value.error());
    }
    return std::pair{to_lower(name), std::move(value).value()};
}

std::optional<ParseError> check_room_for(const Parameters& params, const std::string& name,
                                         std::size_t offset) {
    if (find_parameter(params, name) != nullptr) {
        return error_at("repeated parameter '" + name + "'", offset);
    }
    if (params.size() == max_header_parameters) {
        return error_at("more than " + std::to_string(max_header_parameters) + " parameters",
                        offset);
    }
    return std::nullopt;
}

Expected<Parameters, ParseError> parse_parameter_list(Cursor& cursor) {
    Parameters params;
    for (;;) {
        cursor.skip_whitespace();
        if (cursor.at_end()) {
            return params;
        }
        if (!cursor.consume(';')) {
            return unexpected(
                error_at("expected ';' before the next parameter", cursor.position()));
        }
        cursor.skip_whitespace();
        if (cursor.at_end() || cursor.peek() == ';') {
            continue;
        }
        const std::size_t start = cursor.position();
        auto param = parse_parameter(cursor);
        if (!param) {
            return unexpected(param.error());
        }
        if (auto error = check_room_for(params, param->first, start)) {
            return unexpected(std::move(*error));
        }
        params.push_back(std::move(param).value());
    }
}

} // namespace

bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return to_lower(x) == to_lower(y);
           });
}

bool is_token(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

const std::string* find_parameter(const Parameters& params, std::string_view name) {
    for (const auto& [param_name, value] : params) {
        if (equals_ignoring_ascii_case(param_name, name)) {
            return &value;
        }
    }
    return nullptr;
}

const std::string* MediaType::param(std::string_view name) const {
    return find_parameter(params, name);
}

Expected<ParameterizedValue, ParseError> parse_parameterized(std::string_view header_value) {
    const std::size_t semicolon = std::min(header_value.find(';'), header_value.size());
    ParameterizedValue parsed;
    parsed.head = std::string(trim(header_value.substr(0, semicolon)));
    Cursor cursor(header_value, semicolon);
    auto params = parse_parameter_list(cursor);
    if (!params) {
        return unexpected(params.error());
    }
    parsed.params = std::move(params).value();
    return parsed;
}

Expected<MediaType, ParseError> parse_media_type(std::string_view header_value) {
    auto parsed = parse_parameterized(header_value);
    if (!parsed) {
        return unexpected(parsed.error());
    }
    const std::string_view head = parsed->head;
    const std::size_t slash = head.find('/');
    if (slash == std::string_view::npos) {
        return unexpected(ParseError{"media type has no '/' between type and subtype"});
    }
    const std::string_view type = head.substr(0, slash);
    const std::string_view subtype = head.substr(slash + 1);
    if (type.empty() || subtype.empty()) {
        return unexpected(ParseError{"media type has an empty type or subtype"});
    }
    if (!is_token(type) || !is_token(subtype)) {
        return unexpected(ParseError{"media type contains a character not allowed in a token"});
    }
    return MediaType{to_lower(head), std::move(parsed->params)};
}

} // namespace leadhook::body
