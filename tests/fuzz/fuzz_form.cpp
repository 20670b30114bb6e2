// libFuzzer target for parse_urlencoded. Beyond "no crash", it checks the
// result's invariants and that re-encoding the fields parses back to them.
#include "body/form.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace leadhook::body;

namespace {

void require(bool holds) {
    if (!holds) {
        std::abort();
    }
}

bool is_unreserved(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

// Escapes every other byte, so the re-encoding exercises the %XX path hard.
std::string encode(std::string_view bytes) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string encoded;
    for (char c : bytes) {
        if (is_unreserved(c)) {
            encoded += c;
            continue;
        }
        const auto byte = static_cast<unsigned char>(c);
        encoded += '%';
        encoded += digits[byte >> 4];
        encoded += digits[byte & 0x0f];
    }
    return encoded;
}

std::string encode(const Fields& fields) {
    std::string body;
    for (const Field& field : fields) {
        body += encode(field.name) + "=" + encode(field.value) + "&";
    }
    return body;
}

void check_fields(const Fields& fields, const Limits& limits, std::size_t input_size) {
    require(fields.size() <= limits.max_fields);
    for (const Field& field : fields) {
        require(!field.name.empty() && field.name.size() <= limits.max_name_bytes);
        require(field.size == field.value.size() && field.size <= input_size);
        require(!field.filename.has_value());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const Limits limits{64, 32};
    auto parsed = parse_urlencoded(body, limits);
    if (!parsed) {
        require(!parsed.error().message.empty());
        return 0;
    }
    check_fields(*parsed, limits, size);
    auto reparsed = parse_urlencoded(encode(*parsed), limits);
    require(reparsed.has_value() && reparsed->size() == parsed->size());
    for (std::size_t i = 0; i < parsed->size(); ++i) {
        require((*reparsed)[i].name == (*parsed)[i].name);
        require((*reparsed)[i].value == (*parsed)[i].value);
    }
    return 0;
}
