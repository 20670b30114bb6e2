// Purge cut-offs: days for the quarantine and payloads, calendar months for
// the event log, the ledger's horizon from the freshness window.
#include "domain/retention.hpp"
#include "util/rfc3339.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_retention {

using leadhook::EpochMicros;
using leadhook::format_rfc3339;
namespace domain = leadhook::domain;

namespace {

EpochMicros at(const std::string& text) {
    const auto t = leadhook::parse_rfc3339(text);
    BOOST_TEST_REQUIRE(t.has_value(), text);
    return *t;
}

std::string months_before(const std::string& text, int months) {
    return format_rfc3339(domain::months_before(at(text), months));
}

} // namespace

BOOST_AUTO_TEST_SUITE(retention)

BOOST_AUTO_TEST_CASE(months_are_calendar_months_clamped_to_the_end_of_a_shorter_month) {
    BOOST_TEST(months_before("2026-11-29T07:10:00Z", 1) ==
               format_rfc3339(at("2026-10-29T07:10:00Z")));
    BOOST_TEST(months_before("2026-11-29T07:10:00Z", 12) ==
               format_rfc3339(at("2025-11-29T07:10:00Z")));
    BOOST_TEST(months_before("2026-01-15T00:00:00Z", 2) ==
               format_rfc3339(at("2025-11-15T00:00:00Z")));
    BOOST_TEST(months_before("2026-03-31T12:00:00Z", 1) ==
               format_rfc3339(at("2026-02-28T12:00:00Z")));
    BOOST_TEST(months_before("2028-03-31T12:00:00Z", 1) ==
               format_rfc3339(at("2028-02-29T12:00:00Z")));
    BOOST_TEST(months_before("2026-05-31T00:00:00.000001Z", 3) ==
               format_rfc3339(at("2026-02-28T00:00:00.000001Z")));
}

BOOST_AUTO_TEST_CASE(the_plan_counts_days_and_months_back_from_now) {
    const EpochMicros now = at("2026-11-29T07:10:00Z");
    const domain::FreshnessPolicy freshness{.max_age_seconds = 86400,
                                            .max_future_skew_seconds = 300};
    const auto plan = domain::purge_plan(
        now, freshness, {.quarantine_days = 7, .payload_days = 30, .event_months = 12});
    BOOST_TEST(plan.now == now);
    BOOST_TEST((plan.tokens_before == domain::ledger_horizon(now, freshness)));
    BOOST_TEST_REQUIRE(plan.tokens_before.has_value());
    BOOST_TEST(format_rfc3339(plan.quarantine_before) ==
               format_rfc3339(at("2026-11-22T07:10:00Z")));
    BOOST_TEST(format_rfc3339(plan.payloads_before) == format_rfc3339(at("2026-10-30T07:10:00Z")));
    BOOST_TEST_REQUIRE(plan.events_before.has_value());
    BOOST_TEST(format_rfc3339(*plan.events_before) == format_rfc3339(at("2025-11-29T07:10:00Z")));
}

BOOST_AUTO_TEST_CASE(events_are_kept_for_ever_by_default_and_tokens_when_freshness_is_off) {
    const EpochMicros now = at("2026-11-29T07:10:00Z");
    const auto plan = domain::purge_plan(now, {.max_age_seconds = 0}, domain::Retention{});
    BOOST_TEST(!plan.events_before.has_value());
    BOOST_TEST(!plan.tokens_before.has_value());
    BOOST_TEST(format_rfc3339(plan.payloads_before) == format_rfc3339(at("2026-10-30T07:10:00Z")));
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_retention
