#include "body/form.hpp"

#include "util/hex.hpp"

#include <algorithm>
#include <string>

namespace leadhook::body {
namespace {

/// Decodes `encoded` into `decoded` (or only checks it, when null); its
/// decoded size. `offset` is where `encoded` starts in the body, so errors
/// point into the body.
Expected<std::size_t, ParseError> percent_decode(std::string_view encoded, std::size_t offset,
                                                 std::string* decoded) {
    std::size_t size = 0;
    if (decoded != nullptr) {
        decoded->reserve(encoded.size());
    }
    for (std::size_t i = 0; i < encoded.size(); ++i, ++size) {
        const char c = encoded[i];
        if (c != '%') {
            if (decoded != nullptr) {
                *decoded += (c == '+') ? ' ' : c;
            }
            continue;
        }
        if (encoded.size() - i < 3) {
            return unexpected(error_at("truncated percent-escape", offset + i));
        }
        const int high = hex_digit_value(encoded[i + 1]);
        const int low = hex_digit_value(encoded[i + 2]);
        if (high < 0 || low < 0) {
            return unexpected(
                error_at("percent-escape not followed by two hex digits", offset + i));
        }
        if (decoded != nullptr) {
            *decoded += static_cast<char>(high * 16 + low);
        }
        i += 2;
    }
    return size;
}

Expected<Field, ParseError> decode_pair(std::string_view pair, std::size_t offset,
                                        const Limits& limits, ValueFilter keep) {
    const std::size_t equals = std::min(pair.find('='), pair.size());
    Field field;
    if (auto name = percent_decode(pair.substr(0, equals), offset, &field.name); !name) {
        return unexpected(name.error());
    }
    if (field.name.empty()) {
        return unexpected(error_at("field with an empty name", offset));
    }
    if (field.name.size() > limits.max_name_bytes) {
        return unexpected(error_at(
            "field name longer than " + std::to_string(limits.max_name_bytes) + " bytes", offset));
    }
    const std::size_t value_offset = std::min(equals + 1, pair.size());
    auto size = percent_decode(pair.substr(value_offset), offset + value_offset,
                               keeps_value(keep, field.name) ? &field.value : nullptr);
    if (!size) {
        return unexpected(size.error());
    }
    field.size = *size;
    field.raw_begin = offset + value_offset;
    field.raw_end = offset + pair.size();
    return field;
}

} // namespace

Expected<Fields, ParseError> parse_urlencoded(std::string_view body, const Limits& limits,
                                              ValueFilter keep) {
    Fields fields;
    std::size_t start = 0;
    while (start <= body.size()) {
        const std::size_t end = std::min(body.find('&', start), body.size());
        const std::string_view pair = body.substr(start, end - start);
        start = end + 1;
        if (pair.empty()) {
            continue;
        }
        if (fields.size() == limits.max_fields) {
            return unexpected(
                ParseError{"more than " + std::to_string(limits.max_fields) + " form fields"});
        }
        auto field = decode_pair(pair, end - pair.size(), limits, keep);
        if (!field) {
            return unexpected(field.error());
        }
        fields.push_back(std::move(field).value());
    }
    return fields;
}

std::string url_encode(std::string_view text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(ch);
        } else if (c == ' ') {
            out.push_back('+');
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 0x0f]);
        }
    }
    return out;
}

} // namespace leadhook::body
