#pragma once
// A one-shot signal between two threads: one waits until the other sets it.
//
// Group commit parks every request thread until its batch commits. libstdc++'s
// std::binary_semaphore (and std::atomic::wait) spin first, calling
// sched_yield() up to a dozen times before they sleep, which with dozens of
// parked threads on a few cores burns the CPU the writers need. This one
// sleeps in the kernel (futex) at once and is woken by exactly one syscall.
//
// set() may be the last touch of the object: the waiter may return, and the
// memory be reused, between set()'s store and its wake-up call. A wake-up
// that lands on a later OneShot at the same address is then spurious, and
// wait() tolerates spurious wake-ups by checking the state again.
#include <atomic>
#include <cstdint>

namespace leadhook {

class OneShot {
  public:
    OneShot() = default;
    OneShot(const OneShot&) = delete;
    OneShot& operator=(const OneShot&) = delete;

    /// Blocks until set() has been called (returns at once if it has).
    void wait() noexcept;
    /// Wakes the waiter. Call at most once.
    void set() noexcept;
    bool is_set() const noexcept { return m_state.load(std::memory_order_acquire) != 0; }

  private:
    static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                      std::atomic<std::uint32_t>::is_always_lock_free,
                  "the futex word must be a plain 32-bit integer");
    std::atomic<std::uint32_t> m_state{0};
};

} // namespace leadhook
