#pragma once
// Who holds each web-server connection between requests. Idle connections
// wait in one epoll set, each armed for a single event (EPOLLONESHOT); the
// workers wait in epoll_wait themselves, so the kernel hands a connection
// with something to read (a request, or EOF) to exactly one idle worker,
// and a worker that finished a request on a connection the web server
// keeps open re-arms it. No thread sits between the socket and the worker
// (an earlier design poll()ed in a dispatcher thread and queued to the
// workers: a hand-off and two wake-ups per request). So an idle kept-alive
// connection costs a descriptor, never a worker thread. The dispatcher
// thread accepts, and closes the connections past their deadline. Knows
// nothing of FastCGI (protocol.hpp and connection.hpp speak it), so it can
// be tested on plain sockets.
#include "obs/log.hpp"
#include "util/expected.hpp"
#include "util/unique_fd.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace leadhook::fcgi {

/// One accepted connection. Whoever speaks the protocol subclasses it;
/// destroying it closes the connection.
class Connection {
  public:
    virtual ~Connection() = default;
    /// The descriptor to wait on while idle.
    virtual int fd() const = 0;
    /// While it waits for the rest of a request: when to give up on it.
    /// nullopt between requests, when it may wait for ever.
    virtual std::optional<std::chrono::steady_clock::time_point> deadline() const {
        return std::nullopt;
    }
    /// Done, and only waiting for the peer to close (its deadline is then
    /// no request's): closing it at the deadline is routine.
    virtual bool lingering() const { return false; }
};
using ConnectionPtr = std::unique_ptr<Connection>;

/// Wraps a descriptor accept4() just returned; null when it cannot (the
/// descriptor is then closed with its owner).
using ConnectionFactory = std::function<ConnectionPtr(UniqueFd fd)>;

/// What the dispatcher reports, for metrics. Either may be empty.
struct ConnectionEvents {
    /// One more connection accepted; from the dispatcher thread.
    std::function<void()> accepted;
    /// Idle connections held, when it changes; from whichever thread
    /// changed it, under the dispatcher's lock, so calls never overtake.
    std::function<void(std::size_t)> idle_now;
    /// One more connection closed because its request was overdue.
    std::function<void()> overdue;
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

    /// The dispatcher thread: accepts until stop(), closing (at most a
    /// second late) the connections whose request is past its deadline; then
    /// closes every idle connection, and returns.
    void run();

    /// For workers: the next connection with something to read; null when
    /// none came within `wait` (or a signal interrupted the wait) or once
    /// stopped.
    ConnectionPtr take(std::chrono::milliseconds wait);

    /// For workers: a connection whose request is answered and that the
    /// peer keeps open, to wait for its next request. Closed instead once
    /// stopped.
    void give_back(ConnectionPtr connection);

    /// Stops accepting, ends run() and every take(). Thread-safe, idempotent.
    void stop() noexcept;
    bool stopped() const noexcept { return m_stop.load(); }

    /// Liveness: run() went round its loop within `within` before `now`
    /// (it does at least once a second).
    bool looping(SteadyClock::time_point now, SteadyClock::duration within) const;

  private:
    Dispatcher(int listen_fd, UniqueFd stop_fd, UniqueFd epoll, ConnectionFactory make,
               ConnectionEvents events, obs::Logger& log);

    /// Puts `connection` in the idle set and arms it for one event (`op`:
    /// EPOLL_CTL_ADD for a new connection, EPOLL_CTL_MOD for one handed
    /// back); closes it once stopped or if epoll refuses it.
    void wait_for_request(ConnectionPtr connection, int op);
    int poll_timeout_ms() const;
    void accept_new();
    bool accept_failed(int error);
    void report_idle_locked();
    void close_overdue(SteadyClock::time_point now);
    void close_everything();

    const int m_listen_fd;
    /// An eventfd stop() makes readable for good: it ends run()'s poll()
    /// and, being in the epoll set without EPOLLONESHOT, every take().
    const UniqueFd m_stop_fd;
    const UniqueFd m_epoll; ///< idle connections, each armed for one event
    const ConnectionFactory m_make;
    const ConnectionEvents m_events;
    obs::Logger& m_log;
    std::atomic<bool> m_stop{false};
    std::atomic<SteadyClock::rep> m_last_loop{0}; ///< time_since_epoch().count()

    // Shared with the workers, guarded by m_mutex.
    std::mutex m_mutex;
    /// Idle connections by the key their epoll event carries: a fresh key
    /// each time one is armed, so an event can never name another
    /// connection, nor one a worker holds. Key 0 is the stop eventfd.
    std::unordered_map<std::uint64_t, ConnectionPtr> m_idle;
    std::uint64_t m_last_key = 0;
    std::size_t m_reported_idle = 0;

    // The dispatcher thread's own.
    SteadyClock::time_point m_accept_paused_until{};
    bool m_accept_error_logged = false; ///< one line per episode of failing accepts
    SteadyClock::time_point m_next_reap{};
};

} // namespace leadhook::fcgi
