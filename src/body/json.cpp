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

/// nlohmann's SAX events, keeping only the members scan_json_object wants.
class MemberScan {
  public:
    using json = nlohmann::json;
    MemberScan(std::string_view key, ValueFilter wanted) : m_key(key), m_wanted(wanted) {}

    bool null() { return value({}); }
    bool boolean(bool) { return value({}); }
    bool number_integer(json::number_integer_t n) { return value(std::to_string(n)); }
    bool number_unsigned(json::number_unsigned_t n) { return value(std::to_string(n)); }
    bool number_float(json::number_float_t, const json::string_t&) { return value({}); }
    bool string(json::string_t& s) { return value(std::move(s)); }
    bool binary(json::binary_t&) { return value({}); }
    bool start_object(std::size_t) {
        if (m_depth == 0) {
            m_top_is_object = true;
        } else if (m_depth == 1 && m_top_key == m_key) {
            if (m_members) {
                m_repeated = true;
                return false;
            }
            m_members.emplace();
            m_in_target = true;
        }
        ++m_depth;
        return true;
    }
    bool key(json::string_t& k) {
        if (m_depth == 1) {
            m_top_key = std::move(k);
        } else if (in_target()) {
            m_member = std::move(k);
        }
        return true;
    }
    bool end_object() { return close(); }
    bool start_array(std::size_t) {
        ++m_depth;
        return true;
    }
    bool end_array() { return close(); }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
        m_out_of_range = e.id == 406; // a number no double holds (1e400)
        return false;
    }

    std::optional<ParseError> error() const {
        if (m_repeated) {
            return ParseError{"JSON object repeats the key" + describe_key(std::string(m_key))};
        }
        if (m_out_of_range) {
            return ParseError{"JSON number out of range (larger than a double can hold)"};
        }
        return std::nullopt;
    }
    bool top_is_object() const { return m_top_is_object; }
    /// The target object was read whole and the scan stopped there.
    bool complete() const { return m_complete; }
    std::optional<Members> take() { return std::move(m_members); }

  private:
    bool in_target() const { return m_in_target && m_depth == 2; }
    bool value(std::string text) {
        if (in_target() && keeps_value(m_wanted, m_member) && !text.empty()) {
            m_members->emplace_back(m_member, std::move(text));
        }
        return true;
    }
    bool close() {
        --m_depth;
        if (m_depth == 1 && m_in_target) {
            m_in_target = false;
            m_complete = true;
            return false; // the object is read: the rest is parse_json's
        }
        return true;
    }

    std::string_view m_key;
    ValueFilter m_wanted;
    std::size_t m_depth = 0;
    bool m_top_is_object = false;
    std::string m_top_key;
    std::string m_member;
    std::optional<Members> m_members;
    bool m_in_target = false;
    bool m_complete = false;
    bool m_repeated = false;
    bool m_out_of_range = false;
};

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

Expected<std::optional<Members>, ParseError> scan_json_object(std::string_view text,
                                                              std::string_view key,
                                                              ValueFilter wanted,
                                                              std::size_t max_depth) {
    if (nesting_depth(text) > max_depth) {
        return unexpected(
            ParseError{"JSON nested deeper than " + std::to_string(max_depth) + " levels"});
    }
    MemberScan scan(key, wanted);
    if (!nlohmann::json::sax_parse(text, &scan) && !scan.complete()) {
        if (auto error = scan.error()) {
            return unexpected(std::move(*error));
        }
        return unexpected(ParseError{"body is not valid JSON"});
    }
    if (!scan.top_is_object()) {
        return unexpected(ParseError{"JSON body is not an object"});
    }
    return scan.take();
}

} // namespace leadhook::body
