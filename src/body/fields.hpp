#pragma once
// Form fields in arrival order. Legacy Mailgun posts repeat names (tags, and
// user variables that collide with Mailgun's own fields), so this is an
// ordered list, not a map; callers choose first() or last() deliberately.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook::body {

struct Field {
    std::string name;
    std::string value;                   ///< decoded bytes; empty for file parts
    std::optional<std::string> filename; ///< set for multipart file parts (attachments)
    std::size_t size = 0;                ///< byte size of the value or of the file part
    /// Where the value is in the body, as sent (before any decoding): for a
    /// tool that rewrites one value and leaves every other byte alone.
    std::size_t raw_begin = 0;
    std::size_t raw_end = 0;
};

using Fields = std::vector<Field>;

/// Limits every parser enforces, so hostile input costs bounded memory and time.
struct Limits {
    std::size_t max_fields = 1000;    ///< form fields, and multipart parts
    std::size_t max_name_bytes = 256; ///< of one field name, decoded
    std::size_t max_parts = 200;      ///< multipart parts (each costs a header parse)
    std::size_t max_json_depth = 64;  ///< nesting of JSON arrays and objects
};

/// The names whose values a parser keeps; empty: every name's. Fields of
/// other names keep their name and size, and an empty value: how the
/// signature is read before anything else of an unverified body is copied.
using ValueFilter = std::span<const std::string_view>;

inline bool keeps_value(ValueFilter filter, std::string_view name) {
    if (filter.empty()) {
        return true;
    }
    for (const std::string_view kept : filter) {
        if (kept == name) {
            return true;
        }
    }
    return false;
}

struct ParseError {
    std::string message; ///< names what is wrong; safe to return to the client
};

/// "WHAT at byte offset N": where in the body a parser gave up.
inline ParseError error_at(std::string_view what, std::size_t offset) {
    return ParseError{std::string(what) + " at byte offset " + std::to_string(offset)};
}

/// First value named `name`, or nullptr.
const std::string* first(const Fields& fields, std::string_view name);
/// Last value named `name`, or nullptr.
const std::string* last(const Fields& fields, std::string_view name);
/// Every value named `name`, in order.
std::vector<std::string> all(const Fields& fields, std::string_view name);

} // namespace leadhook::body
