// The worker pool's bookkeeping: readiness, the bounded drain after a stop,
// and the liveness the watchdog reports. Threads stand in for workers.
#include "util/pool_monitor.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_pool_monitor {

using leadhook::PoolMonitor;
using namespace std::chrono_literals;
using Clock = PoolMonitor::SteadyClock;

BOOST_AUTO_TEST_SUITE(pool_monitor)

BOOST_AUTO_TEST_CASE(ready_once_every_worker_started_or_gave_up) {
    PoolMonitor pool(3);
    std::jthread a([&] { pool.worker_started(); });
    std::jthread b([&] { pool.worker_started(); });
    std::jthread c([&] { pool.worker_exited(); }); // failed to start
    BOOST_TEST(pool.wait_started() == 2);
    BOOST_TEST(!pool.stop_requested());
}

BOOST_AUTO_TEST_CASE(a_stop_ends_every_wait) {
    PoolMonitor pool(2);
    std::jthread stopper([&] {
        std::this_thread::sleep_for(20ms);
        pool.request_stop();
    });
    BOOST_TEST(pool.wait_started() == 0);
    pool.wait_stop_or_exit();
    BOOST_TEST(pool.stop_requested());
}

BOOST_AUTO_TEST_CASE(the_pool_dying_ends_the_wait_for_a_stop) {
    PoolMonitor pool(2);
    pool.worker_started();
    pool.worker_started();
    std::jthread exits([&] {
        pool.worker_exited();
        pool.worker_exited();
    });
    pool.wait_stop_or_exit();
    BOOST_TEST(!pool.stop_requested());
    BOOST_TEST(pool.wait_exited_until(Clock::now()) == 0);
}

BOOST_AUTO_TEST_CASE(a_drain_that_finishes_in_time_reports_nothing_left) {
    PoolMonitor pool(2);
    pool.worker_started();
    pool.worker_started();
    pool.request_started();
    pool.request_stop();
    const auto start = Clock::now();
    std::jthread slow([&] {
        std::this_thread::sleep_for(50ms); // a request that finishes in time
        pool.request_finished();
        pool.worker_exited();
    });
    pool.worker_exited(); // the idle worker leaves at once
    BOOST_TEST(pool.wait_exited_until(start + 10s) == 0);
    BOOST_TEST(pool.in_flight() == 0);
    BOOST_TEST((Clock::now() - start < 5s)); // woken by the last exit, not the deadline
}

BOOST_AUTO_TEST_CASE(a_drain_past_its_deadline_counts_what_is_left) {
    PoolMonitor pool(3);
    for (int i = 0; i < 3; ++i) {
        pool.worker_started();
    }
    pool.request_started();
    pool.request_started();
    pool.request_stop();
    pool.worker_exited(); // idle
    const auto start = Clock::now();
    BOOST_TEST(pool.wait_exited_until(start + 100ms) == 2);
    BOOST_TEST((Clock::now() - start >= 100ms));
    BOOST_TEST(pool.in_flight() == 2);
}

BOOST_AUTO_TEST_CASE(progress_means_a_recent_heartbeat_and_a_live_worker) {
    PoolMonitor pool(1);
    const auto t = Clock::now();
    BOOST_TEST(!pool.making_progress(t, 10s)); // no heartbeat yet
    pool.heartbeat(t);
    BOOST_TEST(pool.making_progress(t + 10s, 10s));
    BOOST_TEST(!pool.making_progress(t + 11s, 10s)); // stuck for longer than the window
    pool.heartbeat(t + 11s);
    BOOST_TEST(pool.making_progress(t + 11s, 10s));
    pool.worker_exited();
    BOOST_TEST(!pool.making_progress(t + 11s, 10s)); // nobody left to serve
}

BOOST_AUTO_TEST_CASE(finishing_a_request_counts_as_progress) {
    PoolMonitor pool(1);
    pool.worker_started();
    pool.request_started();
    BOOST_TEST(pool.in_flight() == 1);
    pool.request_finished();
    BOOST_TEST(pool.in_flight() == 0);
    BOOST_TEST(pool.making_progress(Clock::now(), 10s));
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_pool_monitor
