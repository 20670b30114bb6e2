// The numeric settings: one range per setting, checked the same way in the
// TOML file, the environment and validate(); and the body limits they make.
#include "config/config.hpp"
#include "config_support.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_config_settings {

namespace test = leadhook::test;
using namespace leadhook::test::config_support;

BOOST_AUTO_TEST_SUITE(config_settings)

BOOST_AUTO_TEST_CASE(ranges_are_checked_wherever_a_setting_comes_from) {
    struct Range {
        std::string name, env;
        long long min, max;
        bool zero_means_off = false;
    };
    const std::vector<Range> ranges{
        {"threads", "LEADHOOK_THREADS", 1, 1024},
        {"writers", "LEADHOOK_WRITERS", 1, 64},
        {"batch_max_events", "LEADHOOK_BATCH_MAX_EVENTS", 1, 10000},
        {"max_body_bytes", "LEADHOOK_MAX_BODY_BYTES", 1024, 1LL << 30},
        {"max_age_seconds", "LEADHOOK_MAX_AGE_SECONDS", 60, 604800, true},
        {"max_future_skew_seconds", "LEADHOOK_MAX_FUTURE_SKEW_SECONDS", 0, 3600},
        {"quarantine_max_per_hour", "LEADHOOK_QUARANTINE_MAX_PER_HOUR", 0, 1000000},
        {"quarantine_max_bytes_per_hour", "LEADHOOK_QUARANTINE_MAX_BYTES_PER_HOUR", 0, 1LL << 40},
        {"quarantine_retention_days", "LEADHOOK_QUARANTINE_RETENTION_DAYS", 1, 3650},
        {"payload_retention_days", "LEADHOOK_PAYLOAD_RETENTION_DAYS", 1, 3650},
        {"event_retention_months", "LEADHOOK_EVENT_RETENTION_MONTHS", 1, 1200, true},
        {"capture_max_files", "LEADHOOK_CAPTURE_MAX_FILES", 1, 10000000},
        {"capture_max_bytes", "LEADHOOK_CAPTURE_MAX_BYTES", 1LL << 20, 1LL << 40},
        {"drain_timeout_seconds", "LEADHOOK_DRAIN_TIMEOUT_SECONDS", 1, 600},
        {"max_fields", "LEADHOOK_MAX_FIELDS", 100, 1000000},
        {"max_parts", "LEADHOOK_MAX_PARTS", 10, 100000},
        {"max_json_depth", "LEADHOOK_MAX_JSON_DEPTH", 16, 1000},
    };
    for (const auto& r : ranges) {
        BOOST_TEST_CONTEXT(r.name) {
            const std::string rule = r.name + " must be " +
                                     (r.zero_means_off ? "0 (off) or " : "") + "between " +
                                     std::to_string(r.min) + " and " + std::to_string(r.max);
            for (long long ok : {r.min, r.max}) {
                BOOST_TEST(toml_error(r.name + " = " + std::to_string(ok)) == "<parsed>");
                BOOST_TEST(env_error({{r.env, std::to_string(ok)}}) == "<applied>");
            }
            for (long long bad : {r.min - 1, r.max + 1}) {
                if (bad == 0 && r.zero_means_off) {
                    continue; // off, which is valid
                }
                const std::string got = " (got " + std::to_string(bad) + ")";
                BOOST_TEST(toml_error("\n" + r.name + " = " + std::to_string(bad)) ==
                           "test.toml:2: " + rule + got);
                BOOST_TEST(env_error({{r.env, std::to_string(bad)}}) == r.env + ": " + rule + got);
            }
            BOOST_TEST(env_error({{r.env, "many"}}) == r.env + ": not a number: many");
        }
    }
    Config c = with_key();
    c.max_age_seconds = 59;
    BOOST_TEST(validate_text(c) ==
               "max_age_seconds must be 0 (off) or between 60 and 604800 (got 59)");
    c.max_age_seconds = 0; // off: replaying old captures
    BOOST_TEST(validate_text(c) == "<valid>");
    c = with_key();
    c.max_json_depth = 0;
    BOOST_TEST(validate_text(c) == "max_json_depth must be between 16 and 1000 (got 0)");
}

BOOST_AUTO_TEST_CASE(drain_timeout_defaults_to_30_seconds_and_is_read_from_file_and_env) {
    BOOST_TEST(Config{}.drain_timeout_seconds == 30);
    BOOST_TEST(parse_ok("drain_timeout_seconds = 5").drain_timeout_seconds == 5);
    auto applied = leadhook::config::apply_env(parse_ok("drain_timeout_seconds = 5"),
                                               env({{"LEADHOOK_DRAIN_TIMEOUT_SECONDS", "120"}}));
    BOOST_TEST_REQUIRE(applied.has_value());
    BOOST_TEST(applied->drain_timeout_seconds == 120); // the environment wins
    const auto settings = leadhook::config::effective_settings(Config{});
    BOOST_TEST(std::count(settings.begin(), settings.end(),
                          std::pair<std::string, std::string>{"drain_timeout_seconds", "30"}) == 1);
    BOOST_TEST(toml_error("drain_timeout_seconds = \"30s\"") ==
               "test.toml:1: unknown key or wrong type: drain_timeout_seconds");
}

BOOST_AUTO_TEST_CASE(retention_keeps_payloads_30_days_and_events_for_ever_by_default) {
    BOOST_TEST(Config{}.payload_retention_days == 30);
    BOOST_TEST(Config{}.event_retention_months == 0);
    BOOST_TEST(parse_ok("event_retention_months = 0").event_retention_months == 0);
    Config c = with_key();
    c.event_retention_months = 1;
    c.payload_retention_days = 28;
    BOOST_TEST(validate_text(c) == "<valid>");
    c.payload_retention_days = 29; // payloads would outlive their events
    BOOST_TEST(validate_text(c) ==
               "payload_retention_days (29) must not outlast event_retention_months (1): raise "
               "event_retention_months or set it to 0 (keep events)");
    c.event_retention_months = 0;
    BOOST_TEST(validate_text(c) == "<valid>");
}

BOOST_AUTO_TEST_CASE(limits_come_from_the_settings) {
    Config c;
    c.max_fields = 11;
    c.max_parts = 12;
    c.max_json_depth = 13;
    const auto limits = c.limits();
    BOOST_TEST(limits.max_fields == 11u);
    BOOST_TEST(limits.max_parts == 12u);
    BOOST_TEST(limits.max_json_depth == 13u);
    BOOST_TEST(limits.max_name_bytes == leadhook::body::Limits{}.max_name_bytes);
    const auto defaults = Config{}.limits();
    BOOST_TEST(defaults.max_fields == leadhook::body::Limits{}.max_fields);
    BOOST_TEST(defaults.max_parts == leadhook::body::Limits{}.max_parts);
    BOOST_TEST(defaults.max_json_depth == leadhook::body::Limits{}.max_json_depth);
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_config_settings
