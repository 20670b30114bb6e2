#pragma once
// Configuration: defaults, then the TOML file, then LEADHOOK_* environment
// variables, then the key file. Parsing is pure (text in, Config out) so it
// is tested without touching the disk; load_config() is the thin I/O edge.
#include "util/expected.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook::config {

struct Config {
    std::string listen = "unix:/run/leadhook/leadhook.sock"; ///< unix:/path or host:port
    unsigned socket_mode = 0660;                             ///< permissions of a unix socket
    int threads = 8;                        ///< workers, each with its own DB connection
    std::size_t max_body_bytes = 25u << 20; ///< legacy bounces carry attachments
    std::string database_url;               ///< libpq URI or conninfo; empty: PG* defaults
    std::vector<std::string> signing_keys;  ///< tried in order
    std::string signing_key_file;           ///< one key per line; # comments
};

struct ConfigError {
    std::string message; ///< names the source (file:line or variable) and the problem
};

/// Reads an environment variable; injectable for tests.
using Getenv = std::function<std::optional<std::string>(const char* name)>;
Getenv process_env();

Expected<Config, ConfigError> parse_toml(std::string_view text, std::string_view source_name);
Expected<Config, ConfigError> apply_env(Config config, const Getenv& getenv);
Expected<std::vector<std::string>, ConfigError> parse_key_file(std::string_view text,
                                                               std::string_view source_name);
/// Refuses what cannot work: no signing key, no listen address, silly numbers.
std::optional<ConfigError> validate(const Config& config);

/// The whole chain: optional file, environment, key file, validation.
Expected<Config, ConfigError> load_config(const std::optional<std::string>& path,
                                          const Getenv& getenv);

/// One line for the startup log, with secrets redacted.
std::string describe(const Config& config);

} // namespace leadhook::config
