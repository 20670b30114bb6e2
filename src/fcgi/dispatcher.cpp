#include "fcgi/dispatcher.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <thread>

namespace leadhook::fcgi {
namespace {

/// How long accepting rests after running out of descriptors or memory:
/// long enough not to spin on the same error, short enough that a
/// connecting web server barely notices.
constexpr std::chrono::milliseconds accept_pause{100};

/// The longest poll(): the loop reports liveness at least this often.
constexpr std::chrono::milliseconds max_poll{1000};

/// Accepts per wake-up, so a flood of connects cannot starve the
/// connections already idle.
constexpr int max_accepts_per_round = 64;

/// Errors that concern one connection only, never the listening socket:
/// the peer gave up before we took it, or (TCP) the network did, which
/// accept(2) says to treat like EAGAIN and retry.
bool is_connection_error(int error) {
    switch (error) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
        return true;
    default:
        return false;
    }
}

std::optional<std::string> make_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        return std::string("fcntl(O_NONBLOCK): ") + std::strerror(errno);
    }
    return std::nullopt;
}

} // namespace

Expected<std::unique_ptr<Dispatcher>, std::string> Dispatcher::create(int listen_fd,
                                                                      ConnectionFactory make,
                                                                      ConnectionEvents events,
                                                                      obs::Logger& log) {
    // poll() says a connection is waiting, but the peer may give up before
    // accept4() runs: a blocking accept would then hang the whole loop.
    if (auto error = make_nonblocking(listen_fd)) {
        return unexpected("the listening socket: " + *error);
    }
    UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake.valid()) {
        return unexpected(std::string("eventfd: ") + std::strerror(errno));
    }
    return std::unique_ptr<Dispatcher>(
        new Dispatcher(listen_fd, std::move(wake), std::move(make), std::move(events), log));
}

Dispatcher::Dispatcher(int listen_fd, UniqueFd wake, ConnectionFactory make,
                       ConnectionEvents events, obs::Logger& log)
    : m_listen_fd(listen_fd), m_wake(std::move(wake)), m_make(std::move(make)),
      m_events(std::move(events)), m_log(log) {}

Dispatcher::~Dispatcher() = default;

void Dispatcher::run() {
    while (!stopped()) {
        m_last_loop.store(SteadyClock::now().time_since_epoch().count());
        adopt_returned();
        report_idle();
        fill_poll_set();
        if (::poll(m_poll.data(), m_poll.size(), poll_timeout_ms()) < 0) {
            if (errno != EINTR) {
                // Only ENOMEM can happen here; rest rather than spin.
                m_log.write("error", {{"msg", "poll failed"}, {"error", std::strerror(errno)}});
                std::this_thread::sleep_for(accept_pause);
            }
            continue;
        }
        if (m_poll[0].revents != 0) {
            drain_wakeups();
        }
        queue_readable(); // before accept_new(), which appends to m_idle
        if (m_poll[1].revents != 0) {
            accept_new();
        }
    }
    close_everything();
}

ConnectionPtr Dispatcher::take(std::chrono::milliseconds wait) {
    std::unique_lock lock(m_mutex);
    m_ready_changed.wait_for(lock, wait, [&] { return m_stop.load() || !m_ready.empty(); });
    if (m_stop.load() || m_ready.empty()) {
        return nullptr;
    }
    ConnectionPtr connection = std::move(m_ready.front());
    m_ready.pop_front();
    return connection;
}

void Dispatcher::give_back(ConnectionPtr connection) {
    ConnectionPtr closing; // declared first: closes after the lock is released
    if (!connection || connection->fd() < 0) {
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        if (m_stop.load()) {
            closing = std::move(connection);
            return;
        }
        m_returned.push_back(std::move(connection));
    }
    wake();
}

void Dispatcher::stop() noexcept {
    {
        // Under the lock, so give_back() either sees the flag or queues
        // before close_everything() empties the queues.
        std::lock_guard lock(m_mutex);
        m_stop.store(true);
    }
    m_ready_changed.notify_all();
    wake();
}

bool Dispatcher::looping(SteadyClock::time_point now, SteadyClock::duration within) const {
    const SteadyClock::rep last = m_last_loop.load();
    return last != 0 && now - SteadyClock::time_point{SteadyClock::duration{last}} <= within;
}

void Dispatcher::adopt_returned() {
    std::vector<ConnectionPtr> returned;
    {
        std::lock_guard lock(m_mutex);
        returned.swap(m_returned);
    }
    for (auto& connection : returned) {
        m_idle.push_back(std::move(connection));
    }
}

int Dispatcher::poll_timeout_ms() const {
    const auto left = m_accept_paused_until - SteadyClock::now();
    if (left <= SteadyClock::duration::zero() || left >= max_poll) {
        return static_cast<int>(max_poll.count());
    }
    return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

void Dispatcher::fill_poll_set() {
    const bool accepting = SteadyClock::now() >= m_accept_paused_until;
    m_poll.clear();
    m_poll.push_back({.fd = m_wake.get(), .events = POLLIN, .revents = 0});
    // poll() skips a negative descriptor: how accepting pauses.
    m_poll.push_back({.fd = accepting ? m_listen_fd : -1, .events = POLLIN, .revents = 0});
    for (const auto& connection : m_idle) {
        m_poll.push_back({.fd = connection->fd(), .events = POLLIN, .revents = 0});
    }
}

void Dispatcher::queue_readable() {
    // Any event counts: a request, EOF, an error or a hang-up all need the
    // protocol's reader, which finds out which and closes what is dead.
    std::vector<ConnectionPtr> readable;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < m_idle.size(); ++i) {
        if (m_poll[2 + i].revents != 0) {
            readable.push_back(std::move(m_idle[i]));
        } else if (kept++ != i) {
            m_idle[kept - 1] = std::move(m_idle[i]);
        }
    }
    m_idle.resize(kept);
    if (readable.empty()) {
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        for (auto& connection : readable) {
            m_ready.push_back(std::move(connection));
        }
    }
    if (readable.size() == 1) {
        m_ready_changed.notify_one();
    } else {
        m_ready_changed.notify_all();
    }
}

void Dispatcher::accept_new() {
    for (int i = 0; i < max_accepts_per_round; ++i) {
        // Blocking descriptors, as the protocol readers expect (accept4
        // does not pass O_NONBLOCK on), closed on exec.
        const int fd = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (accept_failed(errno)) {
                continue;
            }
            return;
        }
        if (m_accept_error_logged) {
            m_accept_error_logged = false;
            m_log.info("accepting connections again");
        }
        // New connections wait in the poll set too, so one that connects
        // and sends nothing holds up no worker.
        if (ConnectionPtr connection = m_make(fd)) {
            m_idle.push_back(std::move(connection));
            if (m_events.accepted) {
                m_events.accepted();
            }
        }
    }
}

/// Whether to go on accepting in this round.
bool Dispatcher::accept_failed(int error) {
    if (error == EAGAIN || error == EWOULDBLOCK) {
        return false; // nobody left waiting
    }
    if (is_connection_error(error)) {
        return true;
    }
    if (stopped()) {
        return false; // stop() shut the socket down: EINVAL
    }
    // Out of descriptors (EMFILE, ENFILE) or memory (ENOBUFS, ENOMEM): the
    // connection stays in the backlog and poll() would report it again at
    // once, so rest instead of spinning. Idle connections are still served.
    m_accept_paused_until = SteadyClock::now() + accept_pause;
    if (!m_accept_error_logged) {
        m_accept_error_logged = true;
        m_log.write("error", {{"msg", "cannot accept connections; retrying every 100 ms"},
                              {"error", std::strerror(error)}});
    }
    return false;
}

void Dispatcher::drain_wakeups() {
    std::uint64_t count = 0;
    // Resets the eventfd's counter; EAGAIN (already 0) is as good.
    if (::read(m_wake.get(), &count, sizeof count) < 0 && errno != EAGAIN) {
        m_log.write("error",
                    {{"msg", "cannot read the wake-up eventfd"}, {"error", std::strerror(errno)}});
    }
}

void Dispatcher::wake() noexcept {
    const std::uint64_t one = 1;
    const ssize_t wrote = ::write(m_wake.get(), &one, sizeof one);
    // It fails only with EAGAIN, when the counter is already at its
    // maximum: poll() is woken anyway.
    (void)wrote;
}

void Dispatcher::report_idle() {
    if (m_idle.size() != m_reported_idle) {
        m_reported_idle = m_idle.size();
        if (m_events.idle_now) {
            m_events.idle_now(m_reported_idle);
        }
    }
}

void Dispatcher::close_everything() {
    std::deque<ConnectionPtr> ready;
    std::vector<ConnectionPtr> returned;
    {
        std::lock_guard lock(m_mutex);
        ready.swap(m_ready);
        returned.swap(m_returned);
    }
    // No worker began the queued connections' requests: closed unanswered,
    // like connections still in the listen backlog, they get a 502 from the
    // web server at once (which Mailgun retries).
    m_idle.clear();
    report_idle();
}

} // namespace leadhook::fcgi
