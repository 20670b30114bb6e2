// load_config: the only part of config/ that touches the file system.
#include "config/config.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace leadhook::config {
namespace {

namespace fs = std::filesystem;

/// A warning when users outside the owner and group can get at a file that
/// holds signing keys: anyone who reads a key can forge webhooks.
std::optional<std::string> exposure_warning(const std::string& path) {
    std::error_code error;
    const fs::perms perms = fs::status(path, error).permissions();
    if (error || (perms & fs::perms::others_all) == fs::perms::none) {
        return std::nullopt;
    }
    const bool readable = (perms & fs::perms::others_read) != fs::perms::none;
    const bool writable = (perms & fs::perms::others_write) != fs::perms::none;
    const char* what = readable && writable ? "readable and writable"
                       : readable           ? "readable"
                       : writable           ? "writable"
                                            : "accessible";
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(perms & fs::perms::mask));
    return path + ": " + what + " by other users (mode " + mode +
           "); chmod 0600 it: it holds signing keys";
}

Expected<Config, ConfigError> read_config_file(const std::string& path) {
    auto text = read_text_file(path);
    if (!text) {
        return unexpected(ConfigError{path + ": cannot read the config file"});
    }
    auto config = parse_toml(*text, path);
    if (config && !config->signing_keys.empty()) {
        if (auto warning = exposure_warning(path)) {
            config->warnings.push_back(std::move(*warning));
        }
    }
    return config;
}

std::optional<ConfigError> add_key_file(Config& config) {
    const std::string& path = config.signing_key_file;
    auto text = read_text_file(path);
    if (!text) {
        return ConfigError{path + ": cannot read the signing key file"};
    }
    auto keys = parse_key_file(*text, path);
    if (!keys) {
        return std::move(keys).error();
    }
    config.signing_keys.insert(config.signing_keys.end(), keys->begin(), keys->end());
    if (auto warning = exposure_warning(path)) {
        config.warnings.push_back(std::move(*warning));
    }
    return std::nullopt;
}

} // namespace

Expected<Config, ConfigError> load_config(const std::optional<std::string>& path,
                                          const Getenv& getenv) {
    Config base;
    if (path) {
        auto parsed = read_config_file(*path);
        if (!parsed) {
            return parsed;
        }
        base = std::move(parsed).value();
    }
    auto config = apply_env(std::move(base), getenv);
    if (config && !config->signing_key_file.empty()) {
        if (auto error = add_key_file(*config)) {
            return unexpected(std::move(*error));
        }
    }
    if (config) {
        if (auto error = validate(*config)) {
            return unexpected(std::move(*error));
        }
    }
    return config;
}

std::optional<std::string> read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace leadhook::config
