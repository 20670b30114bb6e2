#include "util/pool_monitor.hpp"

namespace leadhook {

void PoolMonitor::worker_started() {
    {
        std::lock_guard lock(m_mutex);
        ++m_started;
    }
    heartbeat(SteadyClock::now());
    m_changed.notify_all();
}

void PoolMonitor::worker_exited() {
    {
        std::lock_guard lock(m_mutex);
        ++m_exited;
    }
    m_changed.notify_all();
}

void PoolMonitor::request_started() {
    ++m_in_flight;
}

void PoolMonitor::request_finished() {
    --m_in_flight;
    heartbeat(SteadyClock::now());
}

void PoolMonitor::heartbeat(SteadyClock::time_point now) noexcept {
    m_last_progress.store(now.time_since_epoch().count());
}

void PoolMonitor::request_stop() noexcept {
    m_stop.store(true);
    // Taking the lock orders the flag before any waiter's next check, so a
    // waiter between its check and its sleep cannot miss the notification.
    { std::lock_guard lock(m_mutex); }
    m_changed.notify_all();
}

int PoolMonitor::wait_started() {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return m_stop.load() || m_started + m_exited >= m_workers; });
    return m_started;
}

void PoolMonitor::wait_stop_or_exit() {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return m_stop.load() || m_exited >= m_workers; });
}

int PoolMonitor::wait_exited_until(SteadyClock::time_point deadline) {
    std::unique_lock lock(m_mutex);
    m_changed.wait_until(lock, deadline, [&] { return m_exited >= m_workers; });
    return m_workers - m_exited;
}

bool PoolMonitor::making_progress(SteadyClock::time_point now, SteadyClock::duration within) const {
    {
        std::lock_guard lock(m_mutex);
        if (m_exited >= m_workers) {
            return false;
        }
    }
    const SteadyClock::rep last = m_last_progress.load();
    return last != 0 && now - SteadyClock::time_point{SteadyClock::duration{last}} <= within;
}

} // namespace leadhook
