#include "support.hpp"
#include "util/rfc2822.hpp"

#include <boost/test/unit_test.hpp>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_rfc2822 {

using namespace leadhook;

namespace {
constexpr EpochMicros oct_21_2011 = 1319194975000000; // Fri, 21 Oct 2011 11:02:55 GMT
} // namespace

BOOST_AUTO_TEST_SUITE(rfc2822)

BOOST_AUTO_TEST_CASE(mailgun_dates_parse_in_every_zone_it_writes) {
    BOOST_TEST(*parse_rfc2822("Fri, 21 Oct 2011 11:02:55 GMT") == oct_21_2011);
    // Live suppression lists say UTC, which RFC 2822 does not allow.
    BOOST_TEST(*parse_rfc2822("Fri, 21 Oct 2011 11:02:55 UTC") == oct_21_2011);
    BOOST_TEST(*parse_rfc2822("Fri, 21 Oct 2011 11:02:55 -0000") == oct_21_2011);
    BOOST_TEST(*parse_rfc2822("Fri, 21 Oct 2011 13:02:55 +0200") == oct_21_2011);
    BOOST_TEST(*parse_rfc2822("21 Oct 2011 11:02:55 +0000") == oct_21_2011);
    BOOST_TEST(*parse_rfc2822("Fri, 21 Oct 2011 11:02 GMT") == oct_21_2011 - 55000000);
    BOOST_TEST(*parse_rfc2822("Fri,  1 Oct 2011 00:00:00 GMT") == 1317427200000000);
}

BOOST_AUTO_TEST_CASE(anything_else_is_refused) {
    for (std::string_view bad :
         {"", "Fri, 21 Oct 2011", "Fri, 21 Okt 2011 11:02:55 GMT", "Fri, 32 Oct 2011 11:02:55 GMT",
          "Fri, 21 Oct 11 11:02:55 GMT", "Fri, 21 Oct 2011 25:02:55 GMT",
          "Fri, 21 Oct 2011 11:02:55 CEST", "Fri, 21 Oct 2011 11:02:55 +02", "2011-10-21T11:02:55Z",
          "Fri, 21 Oct 2011 11:02:55 GMT extra"}) {
        BOOST_TEST(!parse_rfc2822(bad).has_value(), bad);
    }
}

BOOST_AUTO_TEST_CASE(formats_whole_seconds_in_utc_and_reads_back) {
    BOOST_TEST(format_rfc2822(oct_21_2011) == "Fri, 21 Oct 2011 11:02:55 +0000");
    BOOST_TEST(format_rfc2822(oct_21_2011 + 999999) == "Fri, 21 Oct 2011 11:02:55 +0000");
    BOOST_TEST(format_rfc2822(0) == "Thu, 01 Jan 1970 00:00:00 +0000");
    for (EpochMicros t : {EpochMicros{0}, oct_21_2011, EpochMicros{1798761599000000}}) {
        BOOST_TEST(*parse_rfc2822(format_rfc2822(t)) == t);
    }
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_rfc2822
