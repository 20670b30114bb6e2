// Report filters and rows: UTC days, the half-open range, statuses and
// domains as typed, the chart's default range, and rows made into tables.
#include "report/table.hpp"
#include "util/rfc3339.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_report {

namespace lr = leadhook::report;
using leadhook::EpochMicros;

namespace {

EpochMicros at(const std::string& text) {
    const auto t = leadhook::parse_rfc3339(text);
    BOOST_TEST_REQUIRE(t.has_value(), text);
    return *t;
}

std::string error_of(const lr::FilterArgs& args) {
    const auto filters = lr::parse_filters(args);
    return filters ? std::string("(accepted)") : filters.error();
}

} // namespace

BOOST_AUTO_TEST_SUITE(report)

BOOST_AUTO_TEST_CASE(days_are_utc_midnights_and_impossible_dates_are_refused) {
    BOOST_TEST(lr::parse_day("2026-11-29").value_or(-1) == at("2026-11-29T00:00:00Z"));
    BOOST_TEST(!lr::parse_day("2026-02-30").has_value());
    BOOST_TEST(!lr::parse_day("2026-11-29T00:00:00Z").has_value());
    BOOST_TEST(!lr::parse_day("29.11.2026").has_value());
    BOOST_TEST(!lr::parse_day("").has_value());
    BOOST_TEST(lr::format_day(at("2026-11-29T23:59:59.999999Z")) == "2026-11-29");
    BOOST_TEST(lr::format_day(at("1969-12-31T12:00:00Z")) == "1969-12-31");
    BOOST_TEST(lr::start_of_day(at("1969-12-31T12:00:00Z")) == at("1969-12-31T00:00:00Z"));
}

BOOST_AUTO_TEST_CASE(filters_are_validated_and_say_what_is_wrong) {
    const auto ok = lr::parse_filters({"2026-11-01", "2026-12-01", "opened", "Example.COM"});
    BOOST_TEST_REQUIRE(ok.has_value());
    BOOST_TEST(ok->range.from.value_or(0) == at("2026-11-01T00:00:00Z"));
    BOOST_TEST(ok->range.to.value_or(0) == at("2026-12-01T00:00:00Z"));
    BOOST_TEST(ok->status.value_or("") == "opened");
    BOOST_TEST(ok->domain.value_or("") == "example.com");

    const auto none = lr::parse_filters({});
    BOOST_TEST_REQUIRE(none.has_value());
    BOOST_TEST(!none->range.from.has_value());
    BOOST_TEST(!none->status.has_value());
    BOOST_TEST(lr::parse_filters({.status = "none"}).has_value());

    BOOST_TEST(error_of({.from = "2026-13-01"}) ==
               "--from: '2026-13-01' is not a date (YYYY-MM-DD, a UTC day)");
    BOOST_TEST(error_of({.to = "tomorrow"}) ==
               "--to: 'tomorrow' is not a date (YYYY-MM-DD, a UTC day)");
    BOOST_TEST(error_of({.from = "2026-11-02", .to = "2026-11-02"}) ==
               "--from 2026-11-02 is not before --to 2026-11-02 (--to is the first day left out)");
    BOOST_TEST(
        error_of({.status = "failed"})
            .starts_with("--status: unknown status 'failed' (one of: delivered, opened, clicked,"));
    BOOST_TEST(error_of({.domain = "a@example.com"}) ==
               "--domain: 'a@example.com' is not a domain (give the part after the @, e.g. "
               "example.com)");
    BOOST_TEST(error_of({.domain = ""}).starts_with("--domain"));
    BOOST_TEST(error_of({.domain = "x y"}).starts_with("--domain"));
}

BOOST_AUTO_TEST_CASE(the_chart_range_defaults_to_thirty_days_up_to_today) {
    const EpochMicros now = at("2026-11-29T15:00:00Z");
    const auto r = lr::closed_range({}, now);
    BOOST_TEST(r.from.value_or(0) == at("2026-10-31T00:00:00Z"));
    BOOST_TEST(r.to.value_or(0) == at("2026-11-30T00:00:00Z"));
    const auto days = lr::days_of(r);
    BOOST_TEST_REQUIRE(days.size() == 30u);
    BOOST_TEST(days.front() == "2026-10-31");
    BOOST_TEST(days.back() == "2026-11-29");

    const auto to_only = lr::closed_range({std::nullopt, at("2026-03-02T00:00:00Z")}, now, 3);
    BOOST_TEST(lr::days_of(to_only) ==
               (std::vector<std::string>{"2026-02-27", "2026-02-28", "2026-03-01"}));
    const auto future = lr::closed_range({at("2027-01-05T00:00:00Z"), std::nullopt}, now);
    BOOST_TEST(lr::days_of(future) == std::vector<std::string>{"2027-01-05"});
    const auto given = lr::DateRange{at("2026-11-01T00:00:00Z"), at("2026-11-02T00:00:00Z")};
    BOOST_TEST(lr::days_of(lr::closed_range(given, now)) == std::vector<std::string>{"2026-11-01"});
}

BOOST_AUTO_TEST_CASE(lead_rows_keep_their_types) {
    lr::LeadRow lead{7,           "a@example.com",
                     "opened",    at("2026-11-01T09:00:00Z"),
                     true,        2,
                     0,           false,
                     false,       false,
                     false,       false,
                     std::nullopt};
    const auto table = lr::leads_table({lead});
    BOOST_TEST_REQUIRE(table.columns.size() == 13u);
    BOOST_TEST(table.columns[0].name == "id");
    BOOST_TEST(table.columns[12].name == "last_update");
    BOOST_TEST_REQUIRE(table.rows.size() == 1u);
    const auto& row = table.rows[0];
    BOOST_TEST(std::get<long long>(row[0]) == 7);
    BOOST_TEST(std::get<std::string>(row[1]) == "a@example.com");
    BOOST_TEST(std::get<lr::Instant>(row[3]).at == at("2026-11-01T09:00:00Z"));
    BOOST_TEST(std::get<bool>(row[4]));
    BOOST_TEST(std::get<long long>(row[5]) == 2);
    BOOST_TEST(std::holds_alternative<std::monostate>(row[12]));
}

BOOST_AUTO_TEST_CASE(daily_rows_go_by_day_then_in_stacking_order) {
    const auto table = lr::daily_table({{"2026-11-02", "opened", 1},
                                        {"2026-11-01", "opened", 4},
                                        {"2026-11-01", "bounced", 1},
                                        {"2026-11-01", "delivered", 5},
                                        {"2026-11-01", "zzz-legacy", 1}});
    std::vector<std::string> order;
    for (const auto& row : table.rows) {
        order.push_back(std::get<std::string>(row[0]) + " " + std::get<std::string>(row[1]));
    }
    BOOST_TEST(order == (std::vector<std::string>{"2026-11-01 delivered", "2026-11-01 opened",
                                                  "2026-11-01 bounced", "2026-11-01 zzz-legacy",
                                                  "2026-11-02 opened"}));
}

BOOST_AUTO_TEST_CASE(suppress_rows_with_no_detail_or_time_have_no_value) {
    const auto table =
        lr::suppress_table({{"x@example.com", "opted out", "", std::nullopt, "opted out"}});
    BOOST_TEST(std::holds_alternative<std::monostate>(table.rows[0][2]));
    BOOST_TEST(std::holds_alternative<std::monostate>(table.rows[0][3]));
    BOOST_TEST(std::get<std::string>(table.rows[0][4]) == "opted out");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_report
