#pragma once
// Configuration: defaults, then the TOML file, then LEADHOOK_* environment
// variables, then the key file. Parsing is pure (text in, Config out) so it
// is tested without touching the disk; load_config() is the thin I/O edge.
#include "body/fields.hpp"
#include "mailgun/key_ring.hpp"
#include "util/clock.hpp"
#include "util/expected.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leadhook::config {

struct Config {
    std::string listen = "unix:/run/leadhook/leadhook.sock"; ///< unix:/path or host:port
    unsigned socket_mode = 0660;                             ///< permissions of a unix socket
    /// Requests handled at once. A worker holds no database connection: it
    /// hands its event to the writers and waits for the commit.
    int threads = 32;
    int writers = 2;            ///< group-commit writer threads, each with its own DB connection
    int batch_max_events = 256; ///< events per group-commit transaction at most
    std::size_t max_body_bytes = 25u << 20;        ///< legacy bounces carry attachments
    std::size_t max_json_body_bytes = 1u << 20;    ///< a JSON webhook is a few KiB
    std::size_t max_bytes_in_flight = 64u << 20;   ///< request bodies held at once
    int read_timeout_seconds = 10;                 ///< a request silent this long is given up
    std::size_t min_read_bytes_per_second = 16384; ///< past the timeout, so is a slower one
    std::size_t max_params_bytes = 256u << 10;     ///< one request's FastCGI parameters
    std::size_t max_param_bytes = 64u << 10;       ///< one FastCGI parameter
    std::string database_url;                      ///< libpq URI or conninfo; empty: PG* defaults
    std::vector<mailgun::SigningKey> signing_keys; ///< tried in order; every one labelled
    std::string signing_key_file; ///< one key per line (or comma-separated), # comments

    std::int64_t max_age_seconds = 86400;       ///< oldest signed timestamp accepted; 0: any
    std::int64_t max_future_skew_seconds = 300; ///< how far ahead of our clock it may be
    long long quarantine_max_per_hour = 1000;   ///< refused requests kept per hour; 0: none
    long long quarantine_max_bytes_per_hour = 64LL << 20;
    long long quarantine_max_body_bytes = 1LL << 20; ///< larger refused bodies are not kept
    int quarantine_retention_days = 30;              ///< quarantined requests are purged after this
    int payload_retention_days = 30;                 ///< raw event payloads are purged after this
    int event_retention_months = 0; ///< event log months dropped after this; 0: kept
    int drain_timeout_seconds = 30; ///< SIGTERM: longest wait for requests in flight

    /// Capture mode: every webhook request kept as received, one file each
    /// (capture/capture_format.hpp); empty: off. The oldest files go first
    /// once there are more than capture_max_files or capture_max_bytes.
    std::string capture_dir;
    long long capture_max_files = 1000;
    long long capture_max_bytes = 100LL << 20;

    std::size_t max_fields = 1000;   ///< form fields, and multipart parts
    std::size_t max_parts = 200;     ///< multipart parts
    std::size_t max_json_depth = 64; ///< nesting of JSON arrays and objects

    /// Things that work but should not be left so (file permissions);
    /// load_config fills it, the caller logs it.
    std::vector<std::string> warnings;

    /// The body parser limits these settings describe.
    body::Limits limits() const;
};

struct ConfigError {
    std::string message; ///< names the source (file:line or variable) and the problem; never a key
};

/// Reads an environment variable; injectable for tests.
using Getenv = std::function<std::optional<std::string>(const char* name)>;
Getenv process_env();

Expected<Config, ConfigError> parse_toml(std::string_view text, std::string_view source_name);
Expected<Config, ConfigError> apply_env(Config config, const Getenv& getenv);

/// Key file entries, separated by newlines or commas; lines starting with #
/// are comments. Each entry is `KEY [label=NAME] [not_after=RFC3339]`; a key
/// without a label gets mailgun::default_label(). Errors give file:line.
Expected<std::vector<mailgun::SigningKey>, ConfigError>
parse_key_file(std::string_view text, std::string_view source_name);

/// Refuses what cannot work: no signing key, duplicate keys or labels, no
/// listen address, numbers out of range (the message names the setting).
std::optional<ConfigError> validate(const Config& config);

/// The whole chain: optional file, environment, key file, validation. A key
/// file others can read, or its group or others can write, is refused; a
/// config file with keys that others can get at is warned about. Both are
/// judged by the file as opened, not by its path.
Expected<Config, ConfigError> load_config(const std::optional<std::string>& path,
                                          const Getenv& getenv);

/// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_text_file(const std::string& path);

/// Warnings that depend on the time: keys already past their not_after.
std::vector<std::string> key_warnings(const Config& config, EpochMicros now);

/// Every setting as (name, value), values as a TOML file would hold them
/// except keys (labels and end dates only) and database_url (left to the
/// caller, which may redact it).
std::vector<std::pair<std::string, std::string>> effective_settings(const Config& config);

/// One line for the startup log: key labels and expiry, never a secret.
std::string describe(const Config& config);

} // namespace leadhook::config
