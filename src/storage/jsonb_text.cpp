#include "storage/jsonb_text.hpp"

#include "util/utf8.hpp"

#include <array>
#include <charconv>

namespace leadhook::storage {
namespace {

/// Printable ASCII that JSON takes as it is.
bool plain(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte < 0x80 && c != '"' && c != '\\';
}

/// Appends the character at value[i] (not plain()) escaped, or U+FFFD for
/// an invalid UTF-8 sequence or NUL; returns the bytes it took.
std::size_t append_special(std::string& out, std::string_view value, std::size_t i) {
    static constexpr std::string_view hex = "0123456789abcdef";
    const std::size_t length = storable_utf8_length(value, i);
    if (length == 0) {
        out += utf8_replacement;
        return 1;
    }
    const auto byte = static_cast<unsigned char>(value[i]);
    switch (byte) {
    case '"':
        out += "\\\"";
        break;
    case '\\':
        out += "\\\\";
        break;
    case '\b':
        out += "\\b";
        break;
    case '\f':
        out += "\\f";
        break;
    case '\n':
        out += "\\n";
        break;
    case '\r':
        out += "\\r";
        break;
    case '\t':
        out += "\\t";
        break;
    default:
        if (byte < 0x20) {
            out += "\\u00";
            out += hex[byte >> 4];
            out += hex[byte & 0xF];
        } else {
            out.append(value.substr(i, length));
        }
    }
    return length;
}

} // namespace

JsonbText& JsonbText::begin_object() {
    separate();
    m_text += '{';
    return *this;
}

JsonbText& JsonbText::end_object() {
    m_text += '}';
    return *this;
}

JsonbText& JsonbText::text(std::string_view name, std::string_view value) {
    key(name);
    if (value.empty()) {
        m_text += "null";
    } else {
        string(value);
    }
    return *this;
}

JsonbText& JsonbText::number(std::string_view name, std::int64_t value) {
    key(name);
    integer(value);
    return *this;
}

JsonbText& JsonbText::number(std::string_view name, std::optional<std::int64_t> value) {
    if (value) {
        return number(name, *value);
    }
    key(name);
    m_text += "null";
    return *this;
}

JsonbText& JsonbText::boolean(std::string_view name, bool value) {
    key(name);
    m_text += value ? "true" : "false";
    return *this;
}

JsonbText& JsonbText::strings(std::string_view name, const std::vector<std::string>& values) {
    key(name);
    m_text += '[';
    for (const std::string& value : values) {
        separate();
        string(value);
    }
    m_text += ']';
    return *this;
}

JsonbText& JsonbText::value(std::string_view name, const nlohmann::json& value) {
    key(name);
    write(value);
    return *this;
}

JsonbText& JsonbText::element(std::string_view value) {
    separate();
    string(value);
    return *this;
}

JsonbText& JsonbText::element(std::int64_t value) {
    separate();
    integer(value);
    return *this;
}

JsonbText& JsonbText::json_element(const nlohmann::json& value) {
    separate();
    write(value);
    return *this;
}

std::string JsonbText::finish() {
    m_text += ']';
    std::string text = std::move(m_text);
    m_text = "[";
    return text;
}

/// The comma before a value, unless it opens its array or object or
/// follows its key.
void JsonbText::separate() {
    const char last = m_text.back();
    if (last != '[' && last != '{' && last != ':') {
        m_text += ',';
    }
}

void JsonbText::key(std::string_view name) {
    separate();
    string(name);
    m_text += ':';
}

void JsonbText::integer(std::int64_t value) {
    std::array<char, 24> digits{};
    const auto end = std::to_chars(digits.begin(), digits.end(), value).ptr;
    m_text.append(digits.begin(), end);
}

/// A JSON string, escaped as nlohmann's dump() escapes it (so storable JSON
/// comes out byte for byte as dump() gives it), made storable on the way.
void JsonbText::string(std::string_view value) {
    m_text += '"';
    for (std::size_t i = 0; i < value.size();) {
        // Most of a payload is printable ASCII: copy such runs whole.
        std::size_t run = i;
        while (run < value.size() && plain(value[run])) {
            ++run;
        }
        m_text.append(value.substr(i, run - i));
        i = run < value.size() ? run + append_special(m_text, value, run) : run;
    }
    m_text += '"';
}

void JsonbText::write(const nlohmann::json& value) {
    switch (value.type()) {
    case nlohmann::json::value_t::string:
        string(value.get_ref<const std::string&>());
        break;
    case nlohmann::json::value_t::array:
        m_text += '[';
        for (const auto& item : value) {
            separate();
            write(item);
        }
        m_text += ']';
        break;
    case nlohmann::json::value_t::object:
        m_text += '{';
        for (const auto& [name, item] : value.items()) {
            key(name);
            write(item);
        }
        m_text += '}';
        break;
    default: // numbers, booleans, null: their dump() is short and exact
        m_text += value.dump();
    }
}

} // namespace leadhook::storage
