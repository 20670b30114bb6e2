#include "net/retry.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_retry {

using namespace leadhook;
using net::HttpResponse;
using net::Next;

namespace {

constexpr EpochMicros now = 1798761600000000; // Fri, 01 Jan 2027 00:00:00 GMT

Expected<HttpResponse, net::TransportError> answer(long status, std::string body = "",
                                                   std::optional<std::string> retry_after = {}) {
    return HttpResponse{status, std::move(body), std::move(retry_after), {}, {}};
}

Expected<HttpResponse, net::TransportError> no_answer(bool tls = false) {
    return unexpected(net::TransportError{"Connection refused", tls});
}

} // namespace

BOOST_AUTO_TEST_SUITE(retry)

BOOST_AUTO_TEST_CASE(success_is_used_and_auth_failures_stop_for_good) {
    BOOST_TEST((net::judge(answer(200), 1, now, 0).next == Next::use));
    for (long status : {401L, 403L}) {
        const auto verdict = net::judge(answer(status, "Forbidden"), 1, now, 0);
        BOOST_TEST((verdict.next == Next::stop_auth));
        BOOST_TEST(test::contains(verdict.why, "Forbidden"), verdict.why);
        BOOST_TEST(test::contains(verdict.why, "--api-key-file"), verdict.why);
    }
    const auto bad =
        net::judge(answer(400, R"({"message": "'start' must be RFC 2822"})"), 1, now, 0);
    BOOST_TEST((bad.next == Next::stop));
    BOOST_TEST(bad.why == "HTTP 400: 'start' must be RFC 2822");
}

BOOST_AUTO_TEST_CASE(server_errors_and_lost_connections_back_off_doubling_then_give_up) {
    const net::RetryPolicy policy; // 1 s doubling to 60 s, 8 attempts
    const EpochMicros expected[] = {1000000,  2000000,  4000000, 8000000,
                                    16000000, 32000000, 60000000};
    for (int attempt = 1; attempt <= 7; ++attempt) {
        const auto verdict = net::judge(answer(503), attempt, now, 0, policy);
        BOOST_TEST((verdict.next == Next::retry));
        BOOST_TEST(verdict.wait == expected[attempt - 1]);
        BOOST_TEST((net::judge(no_answer(), attempt, now, 0, policy).next == Next::retry));
    }
    // Jitter takes at most a quarter off.
    BOOST_TEST(net::judge(answer(500), 3, now, 1.0, policy).wait == 3000000);
    const auto last = net::judge(answer(502), 8, now, 0, policy);
    BOOST_TEST((last.next == Next::stop));
    BOOST_TEST(test::contains(last.why, "gave up after 8 attempts"), last.why);
    BOOST_TEST((net::judge(answer(408), 1, now, 0).next == Next::retry));
    BOOST_TEST((net::judge(no_answer(/*tls=*/true), 1, now, 0).next == Next::stop));
}

BOOST_AUTO_TEST_CASE(rate_limits_wait_as_the_answer_says) {
    BOOST_TEST(net::judge(answer(429, "", "7"), 1, now, 0.5).wait == 7000000);
    BOOST_TEST(net::judge(answer(429, "", "Fri, 01 Jan 2027 00:00:30 GMT"), 1, now, 0).wait ==
               30000000);
    BOOST_TEST(net::judge(answer(429, "", "Thu, 31 Dec 2026 00:00:30 GMT"), 1, now, 0).wait == 0);
    // Without a usable Retry-After: Mailgun's reset headers, else backoff.
    HttpResponse reset{429, "", std::nullopt, "1798761612.5", std::nullopt};
    BOOST_TEST(*net::rate_limited_wait(reset, now) == 12500000);
    HttpResponse reset_ms{429, "", std::string("soon"), std::nullopt, "1798761603000"};
    BOOST_TEST(*net::rate_limited_wait(reset_ms, now) == 3000000);
    BOOST_TEST(net::judge(answer(429, "", "soon"), 2, now, 0).wait == 2000000);
    // Longer than the policy allows: stop now rather than hang for hours.
    const auto long_wait = net::judge(answer(429, "", "86400"), 1, now, 0);
    BOOST_TEST((long_wait.next == Next::stop));
    BOOST_TEST(test::contains(long_wait.why, "run again later"), long_wait.why);
}

BOOST_AUTO_TEST_CASE(error_summaries_are_short_single_lines) {
    BOOST_TEST(net::error_summary(R"({"message":"Domain not found"})") == "Domain not found");
    BOOST_TEST(net::error_summary("Forbidden\n") == "Forbidden ");
    BOOST_TEST(net::error_summary(std::string(500, 'x')).size() == 200);
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_retry
