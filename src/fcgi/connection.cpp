#include "fcgi/connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace leadhook::fcgi {

std::optional<FcgiConnection::SteadyClock::time_point> FcgiConnection::deadline() const {
    if (m_drain_until) {
        return m_drain_until;
    }
    if (!m_first_byte || !m_reader.mid_request()) {
        return std::nullopt; // between requests a connection may idle for ever
    }
    const auto stalled = m_last_byte + m_policy.timeout;
    // The time the bytes so far may take at the minimum rate, and at least
    // the timeout.
    const auto allowed = std::max<SteadyClock::duration>(
        m_policy.timeout,
        std::chrono::milliseconds(m_received * 1000 /
                                  std::max<std::size_t>(m_policy.min_bytes_per_second, 1)));
    return std::min(stalled, *m_first_byte + allowed);
}

void FcgiConnection::progress(SteadyClock::time_point now, std::size_t bytes) {
    if (!m_first_byte) {
        m_first_byte = now;
    }
    m_last_byte = now;
    m_received += bytes;
}

void FcgiConnection::request_done() {
    m_first_byte.reset();
    m_received = 0;
    m_hold.release();
}

void FcgiConnection::close_after_peer(SteadyClock::time_point until) {
    m_drain_until = until;
    m_pending.clear();
    (void)::shutdown(m_fd.get(), SHUT_WR); // fails only for a peer already gone
}

FcgiConnection::Step FcgiConnection::advance(SteadyClock::time_point now) {
    if (!m_drain_until) {
        // What was read before (the reader may also have a verdict pending,
        // such as a request that is ready without its body).
        std::string_view rest = m_pending;
        const Step step = m_reader.consume(rest);
        m_pending.erase(0, m_pending.size() - rest.size());
        if (step != Step::more) {
            return step;
        }
    }
    std::array<char, 65536> buffer; // read() fills it
    std::size_t turn = 0;
    while (!m_eof) {
        if (m_drain_until && now >= *m_drain_until) {
            return Step::close;
        }
        if (turn >= m_policy.max_bytes_per_turn) {
            return Step::more; // the rest on the connection's next turn
        }
        const ssize_t got = ::read(m_fd.get(), buffer.data(), buffer.size());
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return Step::more;
            }
            return Step::close; // ECONNRESET and friends: the peer is gone
        }
        if (got == 0) {
            m_eof = true;
            break;
        }
        const auto n = static_cast<std::size_t>(got);
        turn += n;
        if (m_drain_until) {
            continue; // discarded
        }
        progress(now, n);
        std::string_view input(buffer.data(), n);
        const Step step = m_reader.consume(input);
        m_pending.append(input); // what belongs after a point the reader stopped at
        if (step != Step::more) {
            return step;
        }
    }
    return m_drain_until ? Step::close : m_reader.end_of_input();
}

bool FcgiConnection::send(std::string_view bytes, std::chrono::milliseconds within) {
    const auto give_up = SteadyClock::now() + within;
    while (!bytes.empty()) {
        const ssize_t sent = ::send(m_fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(sent));
            continue;
        }
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const auto left =
                std::chrono::ceil<std::chrono::milliseconds>(give_up - SteadyClock::now());
            pollfd writable{.fd = m_fd.get(), .events = POLLOUT, .revents = 0};
            if (left.count() <= 0) {
                return false;
            }
            const int ready = ::poll(&writable, 1, static_cast<int>(left.count()));
            if (ready > 0 || (ready < 0 && errno == EINTR)) {
                continue; // writable, or a signal: try again within the time left
            }
        }
        return false; // the peer is gone, or reads nothing
    }
    return true;
}

} // namespace leadhook::fcgi
