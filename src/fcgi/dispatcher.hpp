#pragma once
// Who holds each web-server connection between requests. One dispatcher
// thread owns the listening socket and every idle connection and poll()s
// them; a connection with something to read (a request, or EOF) leaves the
// poll set for a queue the workers take from, and a worker that finished a
// request on a connection the web server keeps open hands it back. So an
// idle kept-alive connection costs a descriptor, never a worker thread.
// Knows nothing of FastCGI (fcgi_server.cpp speaks it), so it can be tested
// on plain sockets.
#include "obs/log.hpp"
#include "util/expected.hpp"
#include "util/unique_fd.hpp"

#include <poll.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace leadhook::fcgi {

/// One accepted connection. Whoever speaks the protocol subclasses it;
/// destroying it closes the connection.
class Connection {
  public:
    virtual ~Connection() = default;
    /// The descriptor to poll while idle; -1 once the protocol closed it.
    virtual int fd() const = 0;
};
using ConnectionPtr = std::unique_ptr<Connection>;

/// Wraps a descriptor accept4() just returned. It owns the descriptor from
/// the call on: when it returns null it has closed it.
using ConnectionFactory = std::function<ConnectionPtr(int fd)>;

/// What the dispatcher reports, for metrics; called from its thread only.
/// Either may be empty.
struct ConnectionEvents {
    std::function<void()> accepted;            ///< one more connection accepted
    std::function<void(std::size_t)> idle_now; ///< idle connections held, when it changes
};

class Dispatcher {
  public:
    using SteadyClock = std::chrono::steady_clock;

    /// Takes over polling `listen_fd` (which stays the caller's, and is made
    /// non-blocking). The message says why it could not.
    static Expected<std::unique_ptr<Dispatcher>, std::string>
    create(int listen_fd, ConnectionFactory make, ConnectionEvents events, obs::Logger& log);
    ~Dispatcher();
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    /// The dispatcher thread: accepts and polls until stop(), then closes
    /// every connection it holds or has queued, and returns.
    void run();

    /// For workers: the next connection with something to read; null when
    /// none came within `wait` or once stopped.
    ConnectionPtr take(std::chrono::milliseconds wait);

    /// For workers: a connection whose request is answered and that the
    /// peer keeps open, to poll again. Closed instead once stopped, or when
    /// its fd() is already -1.
    void give_back(ConnectionPtr connection);

    /// Stops accepting, ends run() and every take(). Thread-safe, idempotent.
    void stop() noexcept;
    bool stopped() const noexcept { return m_stop.load(); }

    /// Liveness: run() went round its loop within `within` before `now`
    /// (it does at least once a second).
    bool looping(SteadyClock::time_point now, SteadyClock::duration within) const;

  private:
    Dispatcher(int listen_fd, UniqueFd wake, ConnectionFactory make, ConnectionEvents events,
               obs::Logger& log);

    void adopt_returned();
    int poll_timeout_ms() const;
    void fill_poll_set();
    void queue_readable();
    void accept_new();
    bool accept_failed(int error);
    void drain_wakeups();
    void wake() noexcept;
    void report_idle();
    void close_everything();

    const int m_listen_fd;
    const UniqueFd m_wake; ///< an eventfd: give_back() and stop() interrupt poll()
    const ConnectionFactory m_make;
    const ConnectionEvents m_events;
    obs::Logger& m_log;
    std::atomic<bool> m_stop{false};
    std::atomic<SteadyClock::rep> m_last_loop{0}; ///< time_since_epoch().count()

    // Shared with the workers, guarded by m_mutex.
    std::mutex m_mutex;
    std::condition_variable m_ready_changed;
    std::deque<ConnectionPtr> m_ready;     ///< readable, waiting for a worker
    std::vector<ConnectionPtr> m_returned; ///< handed back, not yet polled

    // The dispatcher thread's own.
    std::vector<ConnectionPtr> m_idle; ///< polled; m_poll[2 + i] is m_idle[i]
    std::vector<pollfd> m_poll;        ///< the wake fd, the listening fd, then m_idle
    std::size_t m_reported_idle = 0;
    SteadyClock::time_point m_accept_paused_until{};
    bool m_accept_error_logged = false; ///< one line per episode of failing accepts
};

} // namespace leadhook::fcgi
