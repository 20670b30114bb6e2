#include "config/settings.hpp"

#include <array>
#include <charconv>
#include <type_traits>

namespace leadhook::config::detail {
namespace {

template <auto Member> long long get(const Config& c) {
    return static_cast<long long>(c.*Member);
}

template <auto Member> void set(Config& c, long long value) {
    using T = std::remove_cvref_t<decltype(c.*Member)>;
    c.*Member = static_cast<T>(value); // in range: callers check range_problem first
}

template <auto Member>
constexpr IntSetting setting(std::string_view name, const char* env, long long min, long long max,
                             bool zero_means_off = false) {
    return IntSetting{name, env, min, max, &get<Member>, &set<Member>, zero_means_off};
}

constexpr long long one_week = 7 * 24 * 3600;

// The lower bounds keep a typo from turning every webhook into a refusal that
// Mailgun does not retry (406) or that it retries in vain (409).
constexpr std::array settings_table{
    setting<&Config::threads>("threads", "LEADHOOK_THREADS", 1, 1024),
    setting<&Config::writers>("writers", "LEADHOOK_WRITERS", 1, 64),
    setting<&Config::batch_max_events>("batch_max_events", "LEADHOOK_BATCH_MAX_EVENTS", 1, 10000),
    setting<&Config::max_body_bytes>("max_body_bytes", "LEADHOOK_MAX_BODY_BYTES", 1024, 1LL << 30),
    setting<&Config::max_json_body_bytes>("max_json_body_bytes", "LEADHOOK_MAX_JSON_BODY_BYTES",
                                          1024, 1LL << 30),
    setting<&Config::max_bytes_in_flight>("max_bytes_in_flight", "LEADHOOK_MAX_BYTES_IN_FLIGHT",
                                          1LL << 20, 1LL << 36),
    setting<&Config::read_timeout_seconds>("read_timeout_seconds", "LEADHOOK_READ_TIMEOUT_SECONDS",
                                           1, 300),
    setting<&Config::min_read_bytes_per_second>("min_read_bytes_per_second",
                                                "LEADHOOK_MIN_READ_BYTES_PER_SECOND", 1, 1LL << 30),
    // nginx passes about 20 parameters plus the request's headers, which
    // its default buffers (4 of 8 KiB) hold to 32 KiB.
    setting<&Config::max_params_bytes>("max_params_bytes", "LEADHOOK_MAX_PARAMS_BYTES", 32768,
                                       1LL << 24),
    setting<&Config::max_param_bytes>("max_param_bytes", "LEADHOOK_MAX_PARAM_BYTES", 8192,
                                      1LL << 24),
    // 0 turns the check off, for replaying old captures into a test
    // database; the token ledger is then never purged.
    setting<&Config::max_age_seconds>("max_age_seconds", "LEADHOOK_MAX_AGE_SECONDS", 60, one_week,
                                      /*zero_means_off=*/true),
    setting<&Config::max_future_skew_seconds>("max_future_skew_seconds",
                                              "LEADHOOK_MAX_FUTURE_SKEW_SECONDS", 0, 3600),
    setting<&Config::quarantine_max_per_hour>("quarantine_max_per_hour",
                                              "LEADHOOK_QUARANTINE_MAX_PER_HOUR", 0, 1000000),
    setting<&Config::quarantine_max_bytes_per_hour>(
        "quarantine_max_bytes_per_hour", "LEADHOOK_QUARANTINE_MAX_BYTES_PER_HOUR", 0, 1LL << 40),
    setting<&Config::quarantine_max_body_bytes>("quarantine_max_body_bytes",
                                                "LEADHOOK_QUARANTINE_MAX_BODY_BYTES", 0, 1LL << 30),
    setting<&Config::quarantine_retention_days>("quarantine_retention_days",
                                                "LEADHOOK_QUARANTINE_RETENTION_DAYS", 1, 3650),
    setting<&Config::payload_retention_days>("payload_retention_days",
                                             "LEADHOOK_PAYLOAD_RETENTION_DAYS", 1, 3650),
    // 0 keeps the event log for ever: it is the record once Mailgun's own
    // event log (1 to 30 days) has forgotten.
    setting<&Config::event_retention_months>("event_retention_months",
                                             "LEADHOOK_EVENT_RETENTION_MONTHS", 1, 1200,
                                             /*zero_means_off=*/true),
    setting<&Config::capture_max_files>("capture_max_files", "LEADHOOK_CAPTURE_MAX_FILES", 1,
                                        10'000'000),
    setting<&Config::capture_max_bytes>("capture_max_bytes", "LEADHOOK_CAPTURE_MAX_BYTES",
                                        1LL << 20, 1LL << 40),
    // systemd's TimeoutStopSec must stay above it, or SIGKILL ends the drain.
    setting<&Config::drain_timeout_seconds>("drain_timeout_seconds",
                                            "LEADHOOK_DRAIN_TIMEOUT_SECONDS", 1, 600),
    // A real Mailgun post has about 40 fields, 10 parts and JSON 6 deep.
    setting<&Config::max_fields>("max_fields", "LEADHOOK_MAX_FIELDS", 100, 1000000),
    setting<&Config::max_parts>("max_parts", "LEADHOOK_MAX_PARTS", 10, 100000),
    setting<&Config::max_json_depth>("max_json_depth", "LEADHOOK_MAX_JSON_DEPTH", 16, 1000),
};

} // namespace

std::span<const IntSetting> int_settings() {
    return settings_table;
}

const IntSetting* find_int_setting(std::string_view name) {
    for (const auto& s : settings_table) {
        if (s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

std::optional<std::string> range_problem(const IntSetting& s, long long value) {
    if ((value >= s.min && value <= s.max) || (s.zero_means_off && value == 0)) {
        return std::nullopt;
    }
    return std::string(s.name) + " must be " + (s.zero_means_off ? "0 (off) or " : "") +
           "between " + std::to_string(s.min) + " and " + std::to_string(s.max) + " (got " +
           std::to_string(value) + ")";
}

std::optional<long long> parse_integer(std::string_view text, int base) {
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

} // namespace leadhook::config::detail
