#include "config/key_spec.hpp"

#include "util/rfc3339.hpp"

#include <algorithm>

namespace leadhook::config::detail {
namespace {

using mailgun::SigningKey;

constexpr std::size_t max_label_bytes = 64;

// Labels go into logfmt lines and the database unquoted, so they keep to
// characters that need no escaping anywhere.
bool valid_label(std::string_view label) {
    return !label.empty() && label.size() <= max_label_bytes &&
           std::all_of(label.begin(), label.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      std::string_view("._:+/@-").find(c) != std::string_view::npos;
           });
}

const std::string label_rule = "label must be 1 to 64 characters of A-Z a-z 0-9 . _ : + / @ -";

const std::string no_offset = "not_after has no UTC offset, so its instant is ambiguous: end it "
                              "with Z or +hh:mm / -hh:mm";

Expected<EpochMicros, std::string> not_after_from_text(std::string_view text) {
    if (auto t = parse_rfc3339(text)) {
        return *t;
    }
    if (is_local_date_time(text)) {
        return unexpected(no_offset);
    }
    return unexpected(std::string("not_after must be an RFC 3339 date-time with an offset, "
                                  "such as 2026-12-31T00:00:00Z"));
}

std::vector<std::string_view> words_of(std::string_view entry) {
    std::vector<std::string_view> words;
    constexpr std::string_view blanks = " \t\r";
    for (auto start = entry.find_first_not_of(blanks); start != std::string_view::npos;
         start = entry.find_first_not_of(blanks, start)) {
        const auto end = std::min(entry.find_first_of(blanks, start), entry.size());
        words.push_back(entry.substr(start, end - start));
        start = end;
    }
    return words;
}

/// Applies `word` (the `position`th of its entry) to `key`; the error never
/// quotes the word, which may be a second key missing its comma.
std::optional<std::string> apply_attribute(SigningKey& key, std::string_view word,
                                           std::size_t position) {
    if (word.starts_with("label=")) {
        if (!key.label.empty()) {
            return "label= given twice";
        }
        if (!valid_label(word.substr(6))) {
            return label_rule;
        }
        key.label = word.substr(6);
        return std::nullopt;
    }
    if (word.starts_with("not_after=")) {
        if (key.not_after) {
            return "not_after= given twice";
        }
        auto t = not_after_from_text(word.substr(10));
        if (!t) {
            return t.error();
        }
        key.not_after = *t;
        return std::nullopt;
    }
    return "word " + std::to_string(position) +
           " is neither label=NAME nor not_after=RFC3339 (separate keys with commas or newlines)";
}

Expected<SigningKey, std::string> parse_entry(std::string_view entry) {
    const auto words = words_of(entry);
    if (words[0].starts_with("label=") || words[0].starts_with("not_after=")) {
        return unexpected(std::string("the key must come first, before label= and not_after="));
    }
    SigningKey key{std::string(words[0]), {}, std::nullopt};
    for (std::size_t i = 1; i < words.size(); ++i) {
        if (auto error = apply_attribute(key, words[i], i + 1)) {
            return unexpected(std::move(*error));
        }
    }
    if (key.label.empty()) {
        key.label = mailgun::default_label(key.secret);
    }
    return key;
}

/// Appends the non-blank comma-separated entries of `piece` to `keys`.
std::optional<std::string> add_entries(std::string_view piece, std::vector<SigningKey>& keys) {
    while (true) {
        const auto comma = piece.find(',');
        const std::string_view entry = piece.substr(0, comma);
        if (!words_of(entry).empty()) {
            auto key = parse_entry(entry);
            if (!key) {
                return std::move(key).error();
            }
            keys.push_back(std::move(key).value());
        }
        if (comma == std::string_view::npos) {
            return std::nullopt;
        }
        piece.remove_prefix(comma + 1);
    }
}

ConfigError at(std::string_view source, const toml::node& node, std::string_view what) {
    return ConfigError{std::string(source) + ":" + std::to_string(node.source().begin.line) +
                       ": signing_keys: " + std::string(what)};
}

Expected<EpochMicros, std::string> not_after_from_toml(const toml::node& node) {
    if (node.is_string()) {
        return not_after_from_text(*node.value<std::string>());
    }
    const auto* value = node.as_date_time();
    if (value == nullptr) {
        return unexpected(std::string("not_after must be an offset date-time such as "
                                      "2026-12-31T00:00:00Z"));
    }
    const toml::date_time& dt = value->get();
    if (!dt.offset) {
        return unexpected(no_offset);
    }
    const DateTimeParts parts{dt.date.year,
                              dt.date.month,
                              dt.date.day,
                              dt.time.hour,
                              dt.time.minute,
                              dt.time.second,
                              static_cast<int>(dt.time.nanosecond / 1000),
                              dt.offset->minutes};
    if (auto t = to_epoch_micros(parts)) {
        return *t;
    }
    return unexpected(std::string("not_after is not a valid date-time"));
}

std::optional<ConfigError> apply_toml_field(SigningKey& key, std::string_view name,
                                            const toml::node& value, std::string_view source) {
    if (name == "key" && value.is_string()) {
        key.secret = *value.value<std::string>();
    } else if (name == "label" && value.is_string()) {
        key.label = *value.value<std::string>();
        if (!valid_label(key.label)) {
            return at(source, value, label_rule);
        }
    } else if (name == "not_after") {
        auto t = not_after_from_toml(value);
        if (!t) {
            return at(source, value, t.error());
        }
        key.not_after = *t;
    } else {
        return at(source, value,
                  "unknown key or wrong type in a key table: " + std::string(name) +
                      " (expected key = \"...\", label = \"...\", not_after = date-time)");
    }
    return std::nullopt;
}

} // namespace

Expected<std::vector<SigningKey>, ConfigError>
parse_key_entries(std::string_view text, std::string_view source, KeyText kind) {
    std::vector<SigningKey> keys;
    std::size_t line_number = 0;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
        ++line_number;
        const auto first = line.find_first_not_of(" \t\r");
        if (kind == KeyText::file && first != std::string_view::npos && line[first] == '#') {
            continue;
        }
        if (auto error = add_entries(line, keys)) {
            // The failed entry is the one after those already added.
            const std::string where = kind == KeyText::file
                                          ? ":" + std::to_string(line_number)
                                          : ": entry " + std::to_string(keys.size() + 1);
            return unexpected(ConfigError{std::string(source) + where + ": " + *error});
        }
    }
    return keys;
}

Expected<SigningKey, ConfigError> key_from_toml(const toml::node& item, std::string_view source) {
    SigningKey key;
    if (item.is_string()) {
        key.secret = *item.value<std::string>();
    } else if (const auto* table = item.as_table()) {
        for (const auto& [name, value] : *table) {
            if (auto error = apply_toml_field(key, name.str(), value, source)) {
                return unexpected(std::move(*error));
            }
        }
    } else {
        return unexpected(at(source, item,
                             "items must be strings or tables such as "
                             "{ key = \"...\", label = \"...\" }"));
    }
    if (key.secret.empty()) {
        return unexpected(at(source, item, "a key is empty or missing (key = \"...\")"));
    }
    if (key.label.empty()) {
        key.label = mailgun::default_label(key.secret);
    }
    return key;
}

std::optional<ConfigError> check_keys(std::span<const SigningKey> keys) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (keys[i].secret.empty()) {
            return ConfigError{"signing key " + std::to_string(i + 1) + " is empty"};
        }
        if (!valid_label(keys[i].label)) {
            return ConfigError{"signing key " + std::to_string(i + 1) + ": " + label_rule};
        }
        for (std::size_t j = 0; j < i; ++j) {
            if (keys[j].secret == keys[i].secret) {
                return ConfigError{"the same signing key is configured twice (labels " +
                                   keys[j].label + " and " + keys[i].label + ")"};
            }
            if (keys[j].label == keys[i].label) {
                return ConfigError{"two signing keys have the label " + keys[i].label};
            }
        }
    }
    return std::nullopt;
}

std::string describe_keys(std::span<const SigningKey> keys) {
    std::string out = "[";
    for (const auto& key : keys) {
        out += (out.size() > 1 ? ", " : "") + key.label;
        if (key.not_after) {
            out += " until " + format_rfc3339(*key.not_after);
        }
    }
    return out + "]";
}

} // namespace leadhook::config::detail
