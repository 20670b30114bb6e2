#include "support.hpp"
#include "util/rfc3339.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_rfc3339 {

using namespace leadhook;

namespace {

constexpr EpochMicros new_year_2027 = 1798761600000000; // 2027-01-01T00:00:00Z

} // namespace

BOOST_AUTO_TEST_SUITE(rfc3339)

BOOST_AUTO_TEST_CASE(date_times_with_an_offset_parse) {
    BOOST_TEST(test::show(parse_rfc3339("1970-01-01T00:00:00Z")) == "0");
    BOOST_TEST(*parse_rfc3339("2027-01-01T00:00:00Z") == new_year_2027);
    BOOST_TEST(*parse_rfc3339("2027-01-01t00:00:00z") == new_year_2027);
    BOOST_TEST(*parse_rfc3339("2027-01-01T01:30:00+01:30") == new_year_2027);
    BOOST_TEST(*parse_rfc3339("2026-12-31T19:00:00-05:00") == new_year_2027);
    BOOST_TEST(*parse_rfc3339("2027-01-01T00:00:00-00:00") == new_year_2027);
    BOOST_TEST(*parse_rfc3339("2027-01-01T00:00:00.5Z") == new_year_2027 + 500000);
    // Digits past microseconds are dropped, not rounded.
    BOOST_TEST(*parse_rfc3339("2027-01-01T00:00:00.123456789Z") == new_year_2027 + 123456);
    BOOST_TEST(*parse_rfc3339("2024-02-29T12:00:00Z") == 1709208000000000);
    BOOST_TEST(test::show(parse_rfc3339("1969-12-31T23:59:59Z")) == "-1000000");
}

BOOST_AUTO_TEST_CASE(anything_else_is_refused) {
    for (std::string_view bad : {"",
                                 "2027-01-01",
                                 "2027-01-01T00:00:00",
                                 "2027-01-01 00:00:00Z",
                                 "2027-01-01T00:00Z",
                                 "2027-1-01T00:00:00Z",
                                 "2027-02-29T00:00:00Z",
                                 "2027-04-31T00:00:00Z",
                                 "2027-13-01T00:00:00Z",
                                 "2027-00-01T00:00:00Z",
                                 "2027-01-01T24:00:00Z",
                                 "2027-01-01T23:60:00Z",
                                 "2027-01-01T23:59:60Z",
                                 "2027-01-01T00:00:00.Z",
                                 "2027-01-01T00:00:00+24:00",
                                 "2027-01-01T00:00:00+01:60",
                                 "2027-01-01T00:00:00+0100",
                                 "2027-01-01T00:00:00+01",
                                 "2027-01-01T00:00:00ZZ",
                                 "2027-01-01T00:00:00Z ",
                                 " 2027-01-01T00:00:00Z",
                                 "0000-01-01T00:00:00Z",
                                 "2027/01/01T00:00:00Z",
                                 "+2027-01-01T00:00:00Z",
                                 "1798761600"}) {
        BOOST_TEST(!parse_rfc3339(bad).has_value(), bad);
    }
}

BOOST_AUTO_TEST_CASE(local_date_times_are_recognised_so_they_can_be_explained) {
    BOOST_TEST(is_local_date_time("2027-01-01T00:00:00"));
    BOOST_TEST(is_local_date_time("2027-01-01t00:00:00.25"));
    BOOST_TEST(!is_local_date_time("2027-01-01T00:00:00Z"));
    BOOST_TEST(!is_local_date_time("2027-01-01"));
    BOOST_TEST(!is_local_date_time("2027-02-30T00:00:00"));
    BOOST_TEST(!is_local_date_time("soon"));
}

BOOST_AUTO_TEST_CASE(formatting_is_utc_with_a_z) {
    BOOST_TEST(format_rfc3339(0) == "1970-01-01T00:00:00Z");
    BOOST_TEST(format_rfc3339(new_year_2027) == "2027-01-01T00:00:00Z");
    BOOST_TEST(format_rfc3339(new_year_2027 + 1) == "2027-01-01T00:00:00.000001Z");
    BOOST_TEST(format_rfc3339(new_year_2027 - 1) == "2026-12-31T23:59:59.999999Z");
    BOOST_TEST(format_rfc3339(-1) == "1969-12-31T23:59:59.999999Z");
    for (EpochMicros t : {EpochMicros{0}, new_year_2027, new_year_2027 + 123456, EpochMicros{-1}}) {
        BOOST_TEST(*parse_rfc3339(format_rfc3339(t)) == t);
    }
}

BOOST_AUTO_TEST_CASE(parts_are_checked) {
    BOOST_TEST(*to_epoch_micros({2027, 1, 1, 0, 0, 0, 0, 0}) == new_year_2027);
    BOOST_TEST(*to_epoch_micros({2027, 1, 1, 5, 30, 0, 0, 330}) == new_year_2027);
    BOOST_TEST(!to_epoch_micros({2027, 1, 1, 0, 0, 0, 1000000, 0}).has_value());
    BOOST_TEST(!to_epoch_micros({2027, 1, 1, 0, 0, 0, 0, 1440}).has_value());
    BOOST_TEST(!to_epoch_micros({10000, 1, 1, 0, 0, 0, 0, 0}).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_rfc3339
