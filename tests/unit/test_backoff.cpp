#include "util/backoff.hpp"

#include <boost/test/unit_test.hpp>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_backoff {

using namespace leadhook;

namespace {

constexpr EpochMicros second = 1'000'000;
constexpr EpochMicros t0 = 1'800'000'000 * second;

} // namespace

BOOST_AUTO_TEST_SUITE(backoff)

BOOST_AUTO_TEST_CASE(nothing_failed_means_no_wait) {
    const Backoff backoff;
    BOOST_TEST(backoff.may_try(t0));
    BOOST_TEST(backoff.failures() == 0);
}

BOOST_AUTO_TEST_CASE(the_first_failure_is_retried_at_once) {
    Backoff backoff;
    backoff.failed(t0, 0.0);
    BOOST_TEST(backoff.may_try(t0));
    BOOST_TEST(backoff.failures() == 1);
}

BOOST_AUTO_TEST_CASE(waits_double_from_half_a_second_up_to_thirty) {
    const Backoff backoff;
    BOOST_TEST(backoff.wait_after(0) == 0);
    BOOST_TEST(backoff.wait_after(1) == 0);
    BOOST_TEST(backoff.wait_after(2) == second / 2);
    BOOST_TEST(backoff.wait_after(3) == second);
    BOOST_TEST(backoff.wait_after(4) == 2 * second);
    BOOST_TEST(backoff.wait_after(8) == 30 * second); // 32 s, capped
    BOOST_TEST(backoff.wait_after(7) == 16 * second);
    BOOST_TEST(backoff.wait_after(1'000'000) == 30 * second);
}

BOOST_AUTO_TEST_CASE(no_attempt_inside_the_wait) {
    Backoff backoff;
    backoff.failed(t0, 0.0);
    backoff.failed(t0, 0.0); // second in a row: wait 0.5 s
    BOOST_TEST(!backoff.may_try(t0));
    BOOST_TEST(!backoff.may_try(t0 + second / 2 - 1));
    BOOST_TEST(backoff.may_try(t0 + second / 2));
    BOOST_TEST(backoff.retry_at() == t0 + second / 2);
    backoff.failed(t0 + second, 0.0); // third: 1 s from when it ended
    BOOST_TEST(!backoff.may_try(t0 + 2 * second - 1));
    BOOST_TEST(backoff.may_try(t0 + 2 * second));
}

BOOST_AUTO_TEST_CASE(jitter_shortens_by_at_most_a_quarter) {
    Backoff full;
    Backoff shortest;
    Backoff clamped;
    for (int i = 0; i < 4; ++i) { // wait 2 s after the fourth
        full.failed(t0, 0.0);
        shortest.failed(t0, 1.0);
        clamped.failed(t0, 7.0);
    }
    BOOST_TEST(full.retry_at() == t0 + 2 * second);
    BOOST_TEST(shortest.retry_at() == t0 + 3 * second / 2);
    BOOST_TEST(clamped.retry_at() == shortest.retry_at());
}

BOOST_AUTO_TEST_CASE(no_wait_ever_exceeds_the_cap) {
    Backoff backoff;
    for (int i = 0; i < 100; ++i) {
        backoff.failed(t0, 0.0);
    }
    BOOST_TEST(backoff.retry_at() == t0 + 30 * second);
    BOOST_TEST(!backoff.may_try(t0 + 30 * second - 1));
}

BOOST_AUTO_TEST_CASE(success_resets_and_reports_a_recovery) {
    Backoff backoff;
    BOOST_TEST(!backoff.succeeded()); // nothing had failed
    for (int i = 0; i < 5; ++i) {
        backoff.failed(t0, 0.0);
    }
    BOOST_TEST(backoff.succeeded());
    BOOST_TEST(backoff.failures() == 0);
    BOOST_TEST(backoff.may_try(t0));
    backoff.failed(t0, 0.0); // a new run starts from the beginning
    BOOST_TEST(backoff.may_try(t0));
}

BOOST_AUTO_TEST_CASE(a_clock_set_back_does_not_block_for_hours) {
    Backoff backoff;
    for (int i = 0; i < 3; ++i) {
        backoff.failed(t0, 0.0);
    }
    BOOST_TEST(!backoff.may_try(t0 - 1)); // the wait is 1 s: still inside
    BOOST_TEST(backoff.may_try(t0 - 3600 * second));
}

BOOST_AUTO_TEST_CASE(the_policy_is_adjustable) {
    Backoff strict(BackoffPolicy{.first_wait = second, .max_wait = 4 * second, .free_failures = 0});
    BOOST_TEST(strict.wait_after(1) == second);
    BOOST_TEST(strict.wait_after(3) == 4 * second);
    strict.failed(t0, 0.0);
    BOOST_TEST(!strict.may_try(t0));
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_backoff
