#pragma once
// What `leadhook serve` tells systemd (sd_notify: READY, RELOADING, STOPPING,
// STATUS, the watchdog) and how it finds out that stderr goes to journald.
// Everything here does nothing when leadhook does not run under systemd.
// The listening socket systemd passes is fcgi/listen_socket's business.
#include "obs/log.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace leadhook::cli {

/// LinePrefix::syslog_priority when stderr is the stream systemd connected
/// to journald ($JOURNAL_STREAM names its device and inode), else none.
obs::LinePrefix stderr_line_prefix();

/// Sends state changes to $NOTIFY_SOCKET. A failed send is logged once and
/// otherwise ignored: it must never take the service down.
class Notifier {
  public:
    explicit Notifier(obs::Logger& log) : m_log(log) {}

    /// Start-up is done: nginx's requests are being answered.
    void ready(const std::string& status);
    /// Before a reload; reloaded() ends it. Both only say anything once
    /// ready() was sent, so a SIGHUP during start-up cannot claim readiness.
    void reloading();
    void reloaded(const std::string& status);
    void stopping(const std::string& status) { send("STOPPING=1\nSTATUS=" + status); }
    void status(const std::string& status) { send("STATUS=" + status); }

  private:
    void send(const std::string& state);

    obs::Logger& m_log;
    std::atomic<bool> m_ready{false};
    std::mutex m_mutex;
    bool m_failed_before = false;
};

/// Pings systemd's watchdog (WatchdogSec=) from its own thread at half the
/// interval, but only while `alive(interval)` says the server is making
/// progress: a wedged server stops pinging and systemd restarts it. Starts
/// no thread when the watchdog is off.
class Watchdog {
  public:
    using Alive = std::function<bool(std::chrono::microseconds interval)>;
    Watchdog(obs::Logger& log, Alive alive);
    ~Watchdog(); ///< stops and joins
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

  private:
    void run();

    obs::Logger& m_log;
    Alive m_alive;
    std::chrono::microseconds m_interval{0};
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stopping = false;
    std::thread m_thread; ///< last: starts once everything above exists
};

} // namespace leadhook::cli
