#pragma once
// Internal to config/: signing keys as written in the TOML file, the key file
// and LEADHOOK_SIGNING_KEYS. Error messages name where a key was written but
// never repeat it: a config error ends up in logs and terminals.
#include "config/config.hpp"

#include <toml++/toml.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook::config::detail {

enum class KeyText {
    file,     ///< entries by line (and comma); # comment lines; errors say file:line
    variable, ///< entries by comma or newline; errors say VARIABLE: entry N
};

/// Entries `KEY [label=NAME] [not_after=RFC3339]`; unlabelled keys get
/// mailgun::default_label(). An empty list is not an error here.
Expected<std::vector<mailgun::SigningKey>, ConfigError>
parse_key_entries(std::string_view text, std::string_view source, KeyText kind);

/// One item of the TOML signing_keys array: "KEY" or
/// { key = "KEY", label = "NAME", not_after = 2026-12-31T00:00:00Z }.
Expected<mailgun::SigningKey, ConfigError> key_from_toml(const toml::node& item,
                                                         std::string_view source);

/// Every key has a secret and a well-formed label; no secret or label twice.
std::optional<ConfigError> check_keys(std::span<const mailgun::SigningKey> keys);

/// "[sha256:1a2b3c4d, 2026-q3 until 2026-12-31T00:00:00Z]"
std::string describe_keys(std::span<const mailgun::SigningKey> keys);

} // namespace leadhook::config::detail
