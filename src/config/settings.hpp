#pragma once
// Internal to config/: the integer settings as one table, so the TOML file,
// the environment and validate() apply the same names and ranges.
#include "config/config.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace leadhook::config::detail {

struct IntSetting {
    std::string_view name; ///< the TOML key, and the name in messages
    const char* env;       ///< the environment variable that overrides it
    long long min;
    long long max;
    long long (*get)(const Config&);
    void (*set)(Config&, long long);
    bool zero_means_off = false; ///< 0 is accepted besides min..max
};

std::span<const IntSetting> int_settings();
const IntSetting* find_int_setting(std::string_view name);

/// "max_parts must be between 1 and 100000 (got 0)", or nullopt when in range.
std::optional<std::string> range_problem(const IntSetting& setting, long long value);

/// The whole of `text` as an integer in `base`, or nullopt.
std::optional<long long> parse_integer(std::string_view text, int base = 10);

} // namespace leadhook::config::detail
