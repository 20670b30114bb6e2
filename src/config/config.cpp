#include "config/config.hpp"

#include "config/key_spec.hpp"
#include "config/settings.hpp"
#include "util/rfc3339.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace leadhook::config {
namespace {

using detail::parse_integer;

ConfigError at(std::string_view source, const toml::node& node, std::string_view what) {
    return ConfigError{std::string(source) + ":" + std::to_string(node.source().begin.line) + ": " +
                       std::string(what)};
}

std::optional<ConfigError> set_integer(Config& c, const detail::IntSetting& setting,
                                       const toml::node& value, std::string_view source) {
    const long long n = *value.value<long long>();
    if (auto problem = detail::range_problem(setting, n)) {
        return at(source, value, *problem);
    }
    setting.set(c, n);
    return std::nullopt;
}

std::optional<ConfigError> set_keys(Config& c, const toml::array& items, std::string_view source) {
    for (const auto& item : items) {
        auto key = detail::key_from_toml(item, source);
        if (!key) {
            return std::move(key).error();
        }
        c.signing_keys.push_back(std::move(key).value());
    }
    return std::nullopt;
}

std::optional<ConfigError> set_from_toml(Config& c, std::string_view key, const toml::node& value,
                                         std::string_view source) {
    if (const auto* setting = detail::find_int_setting(key); setting && value.is_integer()) {
        return set_integer(c, *setting, value, source);
    }
    if (key == "listen" && value.is_string()) {
        c.listen = *value.value<std::string>();
    } else if (key == "socket_mode" && value.is_string()) {
        auto mode = parse_integer(*value.value<std::string>(), 8);
        if (!mode || *mode < 0 || *mode > 0777) { // before the cast, which would wrap
            return at(source, value, "socket_mode must be an octal string such as \"0660\"");
        }
        c.socket_mode = static_cast<unsigned>(*mode);
    } else if (key == "database_url" && value.is_string()) {
        c.database_url = *value.value<std::string>();
    } else if (key == "signing_key_file" && value.is_string()) {
        c.signing_key_file = *value.value<std::string>();
    } else if (key == "capture_dir" && value.is_string()) {
        c.capture_dir = *value.value<std::string>();
    } else if (key == "signing_keys" && value.is_array()) {
        return set_keys(c, *value.as_array(), source);
    } else {
        return at(source, value, "unknown key or wrong type: " + std::string(key));
    }
    return std::nullopt;
}

std::optional<ConfigError> apply_int_env(Config& c, const detail::IntSetting& setting,
                                         const std::string& text) {
    auto n = parse_integer(text);
    if (!n) {
        return ConfigError{std::string(setting.env) + ": not a number: " + text};
    }
    if (auto problem = detail::range_problem(setting, *n)) {
        return ConfigError{std::string(setting.env) + ": " + *problem};
    }
    setting.set(c, *n);
    return std::nullopt;
}

std::optional<ConfigError> apply_string_env(Config& c, const Getenv& getenv) {
    if (auto v = getenv("LEADHOOK_LISTEN")) {
        c.listen = *v;
    }
    if (auto v = getenv("LEADHOOK_DATABASE_URL")) {
        c.database_url = *v;
    }
    if (auto v = getenv("LEADHOOK_SIGNING_KEY_FILE")) {
        c.signing_key_file = *v;
    }
    if (auto v = getenv("LEADHOOK_CAPTURE_DIR")) {
        c.capture_dir = *v;
    }
    if (auto v = getenv("LEADHOOK_SOCKET_MODE")) {
        auto mode = parse_integer(*v, 8);
        if (!mode || *mode < 0 || *mode > 0777) {
            return ConfigError{"LEADHOOK_SOCKET_MODE: not an octal mode: " + *v};
        }
        c.socket_mode = static_cast<unsigned>(*mode);
    }
    if (auto v = getenv("LEADHOOK_SIGNING_KEYS")) {
        // Replaces the file's keys: the environment is the deployment's override.
        auto keys =
            detail::parse_key_entries(*v, "LEADHOOK_SIGNING_KEYS", detail::KeyText::variable);
        if (!keys) {
            return std::move(keys).error();
        }
        c.signing_keys = std::move(keys).value();
    }
    return std::nullopt;
}

bool valid_listen(const std::string& listen) {
    return listen.starts_with("unix:") ? listen.starts_with("unix:/")
                                       : listen.find(':') != std::string::npos;
}

} // namespace

body::Limits Config::limits() const {
    return body::Limits{
        .max_fields = max_fields, .max_parts = max_parts, .max_json_depth = max_json_depth};
}

Getenv process_env() {
    return [](const char* name) -> std::optional<std::string> {
        const char* value = std::getenv(name);
        return value ? std::optional<std::string>(value) : std::nullopt;
    };
}

Expected<Config, ConfigError> parse_toml(std::string_view text, std::string_view source_name) {
    toml::table table;
    try {
        table = toml::parse(text, source_name);
    } catch (const toml::parse_error& e) {
        return unexpected(ConfigError{std::string(source_name) + ":" +
                                      std::to_string(e.source().begin.line) + ": " +
                                      std::string(e.description())});
    }
    Config config;
    for (const auto& [key, value] : table) {
        if (auto error = set_from_toml(config, key.str(), value, source_name)) {
            return unexpected(*error);
        }
    }
    return config;
}

Expected<Config, ConfigError> apply_env(Config c, const Getenv& getenv) {
    if (auto error = apply_string_env(c, getenv)) {
        return unexpected(std::move(*error));
    }
    for (const auto& setting : detail::int_settings()) {
        if (auto v = getenv(setting.env)) {
            if (auto error = apply_int_env(c, setting, *v)) {
                return unexpected(std::move(*error));
            }
        }
    }
    return c;
}

Expected<std::vector<mailgun::SigningKey>, ConfigError>
parse_key_file(std::string_view text, std::string_view source_name) {
    auto keys = detail::parse_key_entries(text, source_name, detail::KeyText::file);
    if (keys && keys->empty()) {
        return unexpected(ConfigError{std::string(source_name) + ": no signing key in the file"});
    }
    return keys;
}

std::optional<ConfigError> validate(const Config& c) {
    if (c.signing_keys.empty()) {
        return ConfigError{"no signing key: set LEADHOOK_SIGNING_KEYS, LEADHOOK_SIGNING_KEY_FILE, "
                           "or signing_keys / signing_key_file in the config file (Mailgun: "
                           "Settings > Webhooks > HTTP webhook signing key)"};
    }
    if (auto error = detail::check_keys(c.signing_keys)) {
        return error;
    }
    if (!valid_listen(c.listen)) {
        return ConfigError{"listen must be unix:/absolute/path or host:port, not '" + c.listen +
                           "'"};
    }
    for (const auto& setting : detail::int_settings()) {
        if (auto problem = detail::range_problem(setting, setting.get(c))) {
            return ConfigError{*problem};
        }
    }
    // A payload without its event row would be an orphan nobody can read.
    if (c.event_retention_months != 0 && c.payload_retention_days > 28 * c.event_retention_months) {
        return ConfigError{"payload_retention_days (" + std::to_string(c.payload_retention_days) +
                           ") must not outlast event_retention_months (" +
                           std::to_string(c.event_retention_months) +
                           "): raise event_retention_months or set it to 0 (keep events)"};
    }
    // A body no budget can hold would be refused with 503 until Mailgun
    // gave up on it.
    if (c.max_bytes_in_flight < std::max(c.max_body_bytes, c.max_json_body_bytes)) {
        return ConfigError{"max_bytes_in_flight (" + std::to_string(c.max_bytes_in_flight) +
                           ") must hold at least one body of max_body_bytes and of "
                           "max_json_body_bytes"};
    }
    if (c.max_param_bytes > c.max_params_bytes) {
        return ConfigError{"max_param_bytes must not exceed max_params_bytes"};
    }
    if (!c.capture_dir.empty() && !c.capture_dir.starts_with("/")) {
        return ConfigError{"capture_dir must be an absolute path, not '" + c.capture_dir + "'"};
    }
    if (c.socket_mode > 0777) {
        return ConfigError{"socket_mode must be a permission mode such as 0660"};
    }
    return std::nullopt;
}

std::vector<std::string> key_warnings(const Config& c, EpochMicros now) {
    std::vector<std::string> warnings;
    for (const auto& key : c.signing_keys) {
        if (key.not_after && *key.not_after < now) {
            warnings.push_back("signing key " + key.label + " expired at " +
                               format_rfc3339(*key.not_after) +
                               " and verifies nothing any more; remove it");
        }
    }
    if (!c.signing_keys.empty() && warnings.size() == c.signing_keys.size()) {
        warnings.push_back("every signing key has expired: every webhook will be refused");
    }
    return warnings;
}

std::vector<std::pair<std::string, std::string>> effective_settings(const Config& c) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", c.socket_mode);
    std::vector<std::pair<std::string, std::string>> out{{"listen", c.listen},
                                                         {"socket_mode", mode}};
    for (const auto& setting : detail::int_settings()) {
        out.emplace_back(setting.name, std::to_string(setting.get(c)));
    }
    out.emplace_back("signing_keys", detail::describe_keys(c.signing_keys));
    if (!c.signing_key_file.empty()) {
        out.emplace_back("signing_key_file", c.signing_key_file);
    }
    out.emplace_back("capture_dir", c.capture_dir.empty() ? "(off)" : c.capture_dir);
    return out;
}

std::string describe(const Config& c) {
    std::string line;
    for (const auto& [name, value] : effective_settings(c)) {
        line += (line.empty() ? "" : " ") + name + "=" + value;
    }
    return line + " database=" + (c.database_url.empty() ? "(libpq defaults)" : "(set)");
}

} // namespace leadhook::config
