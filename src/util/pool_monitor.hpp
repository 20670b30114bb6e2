#pragma once
// What a pool of worker threads is doing: how many have started, are still
// running, or are inside a request, and when one last made progress. The
// server uses it to say when it is ready, to feed the watchdog, and to wait
// a bounded time for a drain. It starts, stops and sees no threads itself.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace leadhook {

class PoolMonitor {
  public:
    using SteadyClock = std::chrono::steady_clock;

    /// `workers`: how many threads will report to it.
    explicit PoolMonitor(int workers) : m_workers(workers) {}
    PoolMonitor(const PoolMonitor&) = delete;
    PoolMonitor& operator=(const PoolMonitor&) = delete;

    // ---- called by the workers ----
    void worker_started();  ///< ready to accept requests
    void worker_exited();   ///< called exactly once per worker, started or not
    void request_started(); ///< between accept and the end of the answer
    void request_finished();
    void heartbeat(SteadyClock::time_point now) noexcept; ///< "still looping"

    // ---- called by the controlling thread ----
    /// Sets the stop flag and wakes every wait below. Thread-safe.
    void request_stop() noexcept;
    bool stop_requested() const noexcept { return m_stop.load(); }

    /// Blocks until every worker has started or exited, or stop is requested;
    /// returns how many workers have started.
    int wait_started();
    /// Blocks until stop is requested or every worker has exited.
    void wait_stop_or_exit();
    /// Blocks until every worker has exited or `deadline` passes; returns how
    /// many are still running (0: the pool drained in time).
    int wait_exited_until(SteadyClock::time_point deadline);

    /// Requests accepted and not yet finished.
    int in_flight() const noexcept { return m_in_flight.load(); }

    /// Liveness for the watchdog: some worker is running and some worker
    /// looped or finished a request within `within` before `now`.
    bool making_progress(SteadyClock::time_point now, SteadyClock::duration within) const;

  private:
    const int m_workers;
    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    int m_started = 0; ///< guarded by m_mutex, as is m_exited
    int m_exited = 0;
    std::atomic<bool> m_stop{false};
    std::atomic<int> m_in_flight{0};
    std::atomic<SteadyClock::rep> m_last_progress{0}; ///< time_since_epoch().count()
    static_assert(std::atomic<bool>::is_always_lock_free);
    static_assert(std::atomic<SteadyClock::rep>::is_always_lock_free);
};

} // namespace leadhook
