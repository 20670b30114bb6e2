#include "fcgi/dispatcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

namespace leadhook::fcgi {
namespace {

/// How long accepting rests after running out of descriptors or memory:
/// long enough not to spin on the same error, short enough that a
/// connecting web server barely notices.
constexpr std::chrono::milliseconds accept_pause{100};

/// The longest poll(): the loop reports liveness at least this often.
constexpr std::chrono::milliseconds max_poll{1000};

/// How often the idle set is searched for requests past their deadline.
constexpr std::chrono::milliseconds reap_every{500};

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
    UniqueFd stop_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stop_fd.valid()) {
        return unexpected(std::string("eventfd: ") + std::strerror(errno));
    }
    UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll.valid()) {
        return unexpected(std::string("epoll_create1: ") + std::strerror(errno));
    }
    epoll_event stop_event{.events = EPOLLIN, .data = {.u64 = 0}};
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, stop_fd.get(), &stop_event) != 0) {
        return unexpected(std::string("epoll_ctl: ") + std::strerror(errno));
    }
    return std::unique_ptr<Dispatcher>(new Dispatcher(
        listen_fd, std::move(stop_fd), std::move(epoll), std::move(make), std::move(events), log));
}

Dispatcher::Dispatcher(int listen_fd, UniqueFd stop_fd, UniqueFd epoll, ConnectionFactory make,
                       ConnectionEvents events, obs::Logger& log)
    : m_listen_fd(listen_fd), m_stop_fd(std::move(stop_fd)), m_epoll(std::move(epoll)),
      m_make(std::move(make)), m_events(std::move(events)), m_log(log) {}

Dispatcher::~Dispatcher() = default;

void Dispatcher::run() {
    while (!stopped()) {
        m_last_loop.store(SteadyClock::now().time_since_epoch().count());
        const bool accepting = SteadyClock::now() >= m_accept_paused_until;
        // poll() skips a negative descriptor: how accepting pauses.
        std::array<pollfd, 2> wanted{
            {{.fd = m_stop_fd.get(), .events = POLLIN, .revents = 0},
             {.fd = accepting ? m_listen_fd : -1, .events = POLLIN, .revents = 0}}};
        if (::poll(wanted.data(), wanted.size(), poll_timeout_ms()) < 0) {
            if (errno != EINTR) {
                // Only ENOMEM can happen here; rest rather than spin.
                m_log.write("error", {{"msg", "poll failed"}, {"error", std::strerror(errno)}});
                std::this_thread::sleep_for(accept_pause);
            }
            continue;
        }
        if (wanted[1].revents != 0 && !stopped()) {
            accept_new();
        }
        if (const auto now = SteadyClock::now(); now >= m_next_reap) {
            m_next_reap = now + reap_every;
            close_overdue(now);
        }
    }
    close_everything();
}

ConnectionPtr Dispatcher::take(std::chrono::milliseconds wait) {
    if (stopped()) {
        return nullptr;
    }
    epoll_event event{};
    const auto timeout = static_cast<int>(
        std::min<std::chrono::milliseconds::rep>(wait.count(), std::numeric_limits<int>::max()));
    // EINTR (a signal) or nothing within `wait`: the worker comes back.
    if (::epoll_wait(m_epoll.get(), &event, 1, timeout) != 1) {
        return nullptr;
    }
    // A copy: epoll_event is packed on x86-64, so its u64 is misaligned and
    // must not be bound to a reference (as find() would).
    const std::uint64_t key = event.data.u64;
    if (key == 0) {
        return nullptr; // the stop eventfd
    }
    // Any event counts: a request, EOF, an error or a hang-up all need the
    // protocol's reader, which finds out which and closes what is dead.
    std::lock_guard lock(m_mutex);
    const auto found = m_idle.find(key);
    if (found == m_idle.end()) {
        return nullptr; // closed by stop() since the event
    }
    ConnectionPtr connection = std::move(found->second);
    m_idle.erase(found);
    report_idle_locked();
    return connection;
}

void Dispatcher::give_back(ConnectionPtr connection) {
    if (connection) {
        wait_for_request(std::move(connection), EPOLL_CTL_MOD);
    }
}

void Dispatcher::wait_for_request(ConnectionPtr connection, int op) {
    ConnectionPtr closing; // declared first: closes after the lock is released
    std::lock_guard lock(m_mutex);
    if (m_stop.load()) {
        closing = std::move(connection);
        return;
    }
    // In the set before it is armed, so whoever gets its event finds it;
    // armed under the lock, so stop() cannot close it in between.
    const std::uint64_t key = ++m_last_key;
    const int fd = connection->fd();
    auto& idle = m_idle[key];
    idle = std::move(connection);
    epoll_event event{.events = EPOLLIN | EPOLLONESHOT, .data = {.u64 = key}};
    if (::epoll_ctl(m_epoll.get(), op, fd, &event) != 0) {
        // ENOMEM or ENOSPC (max_user_watches): the connection cannot wait
        // here, and closing it is all that is left; the web server retries.
        m_log.write("error", {{"msg", "cannot wait for a connection's next request; closing it"},
                              {"error", std::strerror(errno)}});
        closing = std::move(idle);
        m_idle.erase(key);
    }
    report_idle_locked();
}

void Dispatcher::stop() noexcept {
    {
        // Under the lock, so wait_for_request() either sees the flag or
        // arms its connection before close_everything() empties the set.
        std::lock_guard lock(m_mutex);
        m_stop.store(true);
    }
    const std::uint64_t one = 1;
    // Never read again: it stays readable and ends every wait. It fails only
    // with EAGAIN, when the counter is at its maximum: readable anyway.
    (void)::write(m_stop_fd.get(), &one, sizeof one);
}

bool Dispatcher::looping(SteadyClock::time_point now, SteadyClock::duration within) const {
    const SteadyClock::rep last = m_last_loop.load();
    return last != 0 && now - SteadyClock::time_point{SteadyClock::duration{last}} <= within;
}

int Dispatcher::poll_timeout_ms() const {
    const auto left = m_accept_paused_until - SteadyClock::now();
    if (left <= SteadyClock::duration::zero() || left >= max_poll) {
        return static_cast<int>(max_poll.count());
    }
    return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

void Dispatcher::accept_new() {
    for (int i = 0; i < max_accepts_per_round; ++i) {
        // Non-blocking (accept4 does not pass the listener's O_NONBLOCK on):
        // a worker reads what has arrived and never waits for more.
        UniqueFd fd(::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd.valid()) {
            if (accept_failed(errno)) {
                continue;
            }
            return;
        }
        if (m_accept_error_logged) {
            m_accept_error_logged = false;
            m_log.info("accepting connections again");
        }
        // New connections wait in the epoll set too, so one that connects
        // and sends nothing holds up no worker.
        if (ConnectionPtr connection = m_make(std::move(fd))) {
            if (m_events.accepted) {
                m_events.accepted();
            }
            wait_for_request(std::move(connection), EPOLL_CTL_ADD);
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

void Dispatcher::report_idle_locked() {
    if (m_idle.size() != m_reported_idle) {
        m_reported_idle = m_idle.size();
        if (m_events.idle_now) {
            m_events.idle_now(m_reported_idle);
        }
    }
}

void Dispatcher::close_overdue(SteadyClock::time_point now) {
    std::vector<ConnectionPtr> overdue; // closed after the lock
    std::size_t requests = 0;
    {
        std::lock_guard lock(m_mutex);
        for (auto it = m_idle.begin(); it != m_idle.end();) {
            const auto deadline = it->second->deadline();
            if (deadline && *deadline <= now) {
                requests += it->second->lingering() ? 0 : 1;
                overdue.push_back(std::move(it->second));
                it = m_idle.erase(it);
            } else {
                ++it;
            }
        }
        if (!overdue.empty()) {
            report_idle_locked();
        }
    }
    for (std::size_t i = 0; i < requests; ++i) {
        if (m_events.overdue) {
            m_events.overdue();
        }
    }
    if (requests > 0) {
        m_log.write("warn", {{"msg", "closed connections whose request did not arrive in time"},
                             {"connections", std::to_string(requests)}});
    }
}

void Dispatcher::close_everything() {
    // Some may hold a request no worker took yet: closed unanswered, like
    // connections still in the listen backlog, they get a 502 from the web
    // server at once (which Mailgun retries).
    std::unordered_map<std::uint64_t, ConnectionPtr> idle; // closed after the lock
    std::lock_guard lock(m_mutex);
    idle.swap(m_idle);
    report_idle_locked();
}

} // namespace leadhook::fcgi
