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

/// Writes JSON text into one string, with no second tree.
class Writer {
  public:
    void write(const nlohmann::json& value);
    void strings(const std::vector<std::string>& values);
    std::string take() { return std::move(m_text); }

  private:
    void separate();
    void key(std::string_view name);
    void string(std::string_view value);

    std::string m_text;
};

/// The comma before a value, unless it opens its array or object or
/// follows its key.
void Writer::separate() {
    const char last = m_text.back();
    if (last != '[' && last != '{' && last != ':') {
        m_text += ',';
    }
}

void Writer::key(std::string_view name) {
    separate();
    string(name);
    m_text += ':';
}

/// A JSON string, escaped as nlohmann's dump() escapes it (so storable JSON
/// comes out byte for byte as dump() gives it), made storable on the way.
void Writer::string(std::string_view value) {
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

void Writer::strings(const std::vector<std::string>& values) {
    m_text += '[';
    for (const std::string& value : values) {
        separate();
        string(value);
    }
    m_text += ']';
}

void Writer::write(const nlohmann::json& value) {
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

} // namespace

std::string jsonb_text(const nlohmann::json& value) {
    Writer writer;
    writer.write(value);
    return writer.take();
}

std::string jsonb_text(const std::vector<std::string>& strings) {
    Writer writer;
    writer.strings(strings);
    return writer.take();
}

} // namespace leadhook::storage
