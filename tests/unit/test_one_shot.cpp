// The futex-backed one-shot signal group commit parks request threads on:
// a set before the wait, a wait before the set, and the set racing the
// waiter's return (the waiter's frame, and the signal in it, is reused at
// once, as a request thread's stack is).
#include "util/one_shot.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <thread>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_one_shot {

using leadhook::OneShot;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(one_shot)

BOOST_AUTO_TEST_CASE(a_set_before_the_wait_returns_at_once) {
    OneShot signal;
    BOOST_TEST(!signal.is_set());
    signal.set();
    BOOST_TEST(signal.is_set());
    signal.wait();
}

BOOST_AUTO_TEST_CASE(the_waiter_sleeps_until_the_set) {
    OneShot signal;
    std::atomic<bool> woke{false};
    std::jthread waiter([&] {
        signal.wait();
        woke = true;
    });
    std::this_thread::sleep_for(30ms);
    BOOST_TEST(!woke.load());
    signal.set();
    waiter.join();
    BOOST_TEST(woke.load());
}

// A writer hands results to waiters whose signal lives in their own frame:
// each waiter returns as soon as it sees the set, before the writer's wake-up
// call, and the next round puts a new signal at the same address.
BOOST_AUTO_TEST_CASE(every_round_wakes_its_waiter_though_frames_are_reused) {
    constexpr int rounds = 20000;
    std::atomic<OneShot*> slot{nullptr};
    std::jthread writer([&] {
        for (int i = 0; i < rounds; ++i) {
            OneShot* signal = nullptr;
            while ((signal = slot.exchange(nullptr)) == nullptr) {
                std::this_thread::yield();
            }
            signal->set();
        }
    });
    int woken = 0;
    for (int i = 0; i < rounds; ++i) {
        OneShot signal;
        slot = &signal;
        signal.wait();
        ++woken;
    }
    writer.join();
    BOOST_TEST(woken == rounds);
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_one_shot
