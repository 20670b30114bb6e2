#include "config/config.hpp"

#include <toml++/toml.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace leadhook::config {
namespace {

ConfigError at(std::string_view source, const toml::node& node, std::string_view what) {
    return ConfigError{std::string(source) + ":" + std::to_string(node.source().begin.line) + ": " +
                       std::string(what)};
}

std::optional<long long> parse_integer(std::string_view text, int base = 10) {
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::vector<std::string> split_keys(std::string_view list) {
    std::vector<std::string> keys;
    while (!list.empty()) {
        const auto comma = list.find(',');
        std::string_view key = list.substr(0, comma);
        // '\r' too: a key file saved with CRLF line ends must still verify.
        while (!key.empty() && (key.front() == ' ' || key.front() == '\t' || key.front() == '\r')) {
            key.remove_prefix(1);
        }
        while (!key.empty() && (key.back() == ' ' || key.back() == '\t' || key.back() == '\r')) {
            key.remove_suffix(1);
        }
        if (!key.empty()) {
            keys.emplace_back(key);
        }
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
    return keys;
}

std::optional<ConfigError> set_from_toml(Config& c, std::string_view key, const toml::node& value,
                                         std::string_view source) {
    if (key == "listen" && value.is_string()) {
        c.listen = *value.value<std::string>();
    } else if (key == "socket_mode" && value.is_string()) {
        auto mode = parse_integer(*value.value<std::string>(), 8);
        if (!mode) {
            return at(source, value, "socket_mode must be an octal string such as \"0660\"");
        }
        c.socket_mode = static_cast<unsigned>(*mode);
    } else if (key == "threads" && value.is_integer()) {
        c.threads = static_cast<int>(*value.value<long long>());
    } else if (key == "max_body_bytes" && value.is_integer()) {
        c.max_body_bytes = static_cast<std::size_t>(std::max(0LL, *value.value<long long>()));
    } else if (key == "database_url" && value.is_string()) {
        c.database_url = *value.value<std::string>();
    } else if (key == "signing_key_file" && value.is_string()) {
        c.signing_key_file = *value.value<std::string>();
    } else if (key == "signing_keys" && value.is_array()) {
        for (const auto& item : *value.as_array()) {
            if (!item.is_string()) {
                return at(source, item, "signing_keys must hold strings");
            }
            c.signing_keys.push_back(*item.value<std::string>());
        }
    } else {
        return at(source, value, "unknown key or wrong type: " + std::string(key));
    }
    return std::nullopt;
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

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
    if (auto v = getenv("LEADHOOK_LISTEN")) {
        c.listen = *v;
    }
    if (auto v = getenv("LEADHOOK_DATABASE_URL")) {
        c.database_url = *v;
    }
    if (auto v = getenv("LEADHOOK_SIGNING_KEYS")) {
        c.signing_keys = split_keys(*v);
    }
    if (auto v = getenv("LEADHOOK_SIGNING_KEY_FILE")) {
        c.signing_key_file = *v;
    }
    if (auto v = getenv("LEADHOOK_THREADS")) {
        auto n = parse_integer(*v);
        if (!n) {
            return unexpected(ConfigError{"LEADHOOK_THREADS: not a number: " + *v});
        }
        c.threads = static_cast<int>(*n);
    }
    if (auto v = getenv("LEADHOOK_MAX_BODY_BYTES")) {
        auto n = parse_integer(*v);
        if (!n || *n < 0) {
            return unexpected(ConfigError{"LEADHOOK_MAX_BODY_BYTES: not a byte count: " + *v});
        }
        c.max_body_bytes = static_cast<std::size_t>(*n);
    }
    if (auto v = getenv("LEADHOOK_SOCKET_MODE")) {
        auto mode = parse_integer(*v, 8);
        if (!mode) {
            return unexpected(ConfigError{"LEADHOOK_SOCKET_MODE: not an octal mode: " + *v});
        }
        c.socket_mode = static_cast<unsigned>(*mode);
    }
    return c;
}

Expected<std::vector<std::string>, ConfigError> parse_key_file(std::string_view text,
                                                               std::string_view source_name) {
    std::vector<std::string> keys;
    std::istringstream lines{std::string(text)};
    for (std::string line; std::getline(lines, line);) {
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') {
            continue;
        }
        for (auto& key : split_keys(line)) {
            keys.push_back(std::move(key));
        }
    }
    if (keys.empty()) {
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
    if (c.listen.starts_with("unix:") ? !c.listen.starts_with("unix:/")
                                      : c.listen.find(':') == std::string::npos) {
        return ConfigError{"listen must be unix:/absolute/path or host:port, not '" + c.listen +
                           "'"};
    }
    if (c.threads < 1 || c.threads > 1024) {
        return ConfigError{"threads must be between 1 and 1024"};
    }
    if (c.max_body_bytes < 1024) {
        return ConfigError{"max_body_bytes must be at least 1024"};
    }
    if (c.socket_mode > 0777) {
        return ConfigError{"socket_mode must be a permission mode such as 0660"};
    }
    return std::nullopt;
}

Expected<Config, ConfigError> load_config(const std::optional<std::string>& path,
                                          const Getenv& getenv) {
    Config base;
    if (path) {
        auto text = read_file(*path);
        if (!text) {
            return unexpected(ConfigError{*path + ": cannot read the config file"});
        }
        auto parsed = parse_toml(*text, *path);
        if (!parsed) {
            return parsed;
        }
        base = std::move(parsed).value();
    }
    auto config = apply_env(std::move(base), getenv);
    if (config && !config->signing_key_file.empty()) {
        auto text = read_file(config->signing_key_file);
        if (!text) {
            return unexpected(
                ConfigError{config->signing_key_file + ": cannot read the signing key file"});
        }
        auto keys = parse_key_file(*text, config->signing_key_file);
        if (!keys) {
            return unexpected(keys.error());
        }
        config->signing_keys.insert(config->signing_keys.end(), keys->begin(), keys->end());
    }
    if (config) {
        if (auto error = validate(*config)) {
            return unexpected(*error);
        }
    }
    return config;
}

std::string describe(const Config& c) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", c.socket_mode);
    return "listen=" + c.listen + " socket_mode=" + mode + " threads=" + std::to_string(c.threads) +
           " max_body_bytes=" + std::to_string(c.max_body_bytes) +
           " signing_keys=" + std::to_string(c.signing_keys.size()) +
           " database=" + (c.database_url.empty() ? "(libpq defaults)" : "(set)");
}

} // namespace leadhook::config
