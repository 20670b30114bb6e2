// libFuzzer target for the configuration text parsers, all in memory (no
// files): the TOML config (config::parse_toml, then validate, describe,
// key_warnings, app::settings_from), the key file (parse_key_file) and
// LEADHOOK_SIGNING_KEYS (apply_env with a fake environment), each given the
// whole input.
//
// Checked: a config that parses, written back as TOML (every setting,
// signing_keys as tables with an RFC 3339 not_after), parses to the same
// settings and keys; validate() accepts only values in their ranges; keys
// from a key file have a secret with no blank or comma and a label.
#include "app/settings.hpp"
#include "config/config.hpp"
#include "util/rfc3339.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace leadhook;

namespace {

void require(bool holds) {
    if (!holds) {
        std::abort();
    }
}

constexpr EpochMicros now = 1'764'000'000'000'000;

/// A TOML basic string.
std::string toml_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte == 0x7f) {
            char escape[8];
            std::snprintf(escape, sizeof escape, "\\u%04x", byte);
            out += escape;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

/// The settings as a TOML file that should parse back to them.
std::string to_toml(const config::Config& c) {
    std::string text;
    for (const auto& [name, value] : config::effective_settings(c)) {
        if (name == "signing_keys" || (name == "capture_dir" && c.capture_dir.empty())) {
            continue;
        }
        const bool is_string = name == "listen" || name == "socket_mode" ||
                               name == "signing_key_file" || name == "capture_dir";
        text += name + " = " + (is_string ? toml_string(value) : value) + "\n";
    }
    text += "database_url = " + toml_string(c.database_url) + "\n";
    text += "signing_keys = [\n";
    for (const auto& key : c.signing_keys) {
        text += "  { key = " + toml_string(key.secret) + ", label = " + toml_string(key.label);
        if (key.not_after) {
            text += ", not_after = " + toml_string(format_rfc3339(*key.not_after));
        }
        text += " },\n";
    }
    return text + "]\n";
}

bool same_keys(const config::Config& a, const config::Config& b) {
    if (a.signing_keys.size() != b.signing_keys.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.signing_keys.size(); ++i) {
        const auto& x = a.signing_keys[i];
        const auto& y = b.signing_keys[i];
        if (x.secret != y.secret || x.label != y.label || x.not_after != y.not_after) {
            return false;
        }
    }
    return true;
}

/// Debian 12's toml++ 3.3.0 reaches __builtin_unreachable (undefined
/// behaviour) in is_non_ascii_horizontal_whitespace() when it looks at a code
/// point in U+00A1..U+0499, U+2C8E..U+3087 or U+FC06..U+FEFE that is not
/// whitespace, e.g. one right after a bare key (upstream issues 190 and 295,
/// fixed by pull request 305). A bug in the library, not in leadhook: such
/// inputs skip the TOML parser, so the fuzzer can look for everything else.
bool trips_tomlpp_unreachable(char32_t c) {
    if (c <= 0xA0 || c >= 0xFEFF || c == 0x3000) {
        return false;
    }
    const std::uint64_t child = (static_cast<std::uint64_t>(c) - 0xA0) / 0x3FA;
    return ((1ULL << child) & 0x7FFFFFFFFFFFF75EULL) == 0 && child != 5 && child != 7;
}

bool has_tomlpp_unreachable(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto lead = static_cast<unsigned char>(text[i]);
        const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (length == 1 || i + length > text.size()) {
            continue;
        }
        char32_t c = lead & (0x7F >> length);
        for (std::size_t k = 1; k < length; ++k) {
            c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
        }
        if (trips_tomlpp_unreachable(c)) {
            return true;
        }
    }
    return false;
}

void check_toml(std::string_view text) {
    if (has_tomlpp_unreachable(text)) {
        return;
    }
    auto parsed = config::parse_toml(text, "fuzz.toml");
    if (!parsed) {
        require(parsed.error().message.starts_with("fuzz.toml"));
        return;
    }
    const config::Config& c = *parsed;
    for (const auto& key : c.signing_keys) {
        require(!key.secret.empty() && !key.label.empty());
    }
    const auto again = config::parse_toml(to_toml(c), "again.toml");
    require(again.has_value());
    require(config::effective_settings(*again) == config::effective_settings(c));
    require(again->database_url == c.database_url && same_keys(*again, c));

    const auto problem = config::validate(c);
    require(!problem || !problem->message.empty());
    if (!problem) {
        require(c.socket_mode <= 0777 && c.threads >= 1 && c.max_json_depth >= 16);
        require(!c.signing_keys.empty() && !c.listen.empty());
    }
    const auto settings = app::settings_from(c);
    require(settings.keys.size() == c.signing_keys.size());
    require(settings.limits.max_json_depth == c.max_json_depth);
    (void)config::describe(c);
    (void)config::key_warnings(c, now);
}

void check_keys(const std::vector<mailgun::SigningKey>& keys) {
    for (const auto& key : keys) {
        require(!key.secret.empty() && !key.label.empty());
        require(key.secret.find_first_of(" \t\r\n,") == std::string::npos);
        if (key.not_after) {
            require(parse_rfc3339(format_rfc3339(*key.not_after)) == key.not_after);
        }
    }
}

void check_key_file(std::string_view text) {
    auto keys = config::parse_key_file(text, "fuzz.keys");
    if (!keys) {
        require(keys.error().message.starts_with("fuzz.keys"));
        return;
    }
    require(!keys->empty());
    check_keys(*keys);
}

void check_key_variable(std::string_view text) {
    const std::string value(text);
    const config::Getenv getenv = [&value](const char* name) -> std::optional<std::string> {
        if (std::string_view(name) == "LEADHOOK_SIGNING_KEYS") {
            return value;
        }
        return std::nullopt;
    };
    auto applied = config::apply_env(config::Config{}, getenv);
    if (!applied) {
        require(applied.error().message.starts_with("LEADHOOK_SIGNING_KEYS"));
        return;
    }
    check_keys(applied->signing_keys);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_toml(text);
    check_key_file(text);
    check_key_variable(text);
    return 0;
}
