#pragma once
// One web-server connection, non-blocking, with the FastCGI reader over it:
// a worker reads what has arrived and returns, so a slow or stalled peer
// holds a descriptor and a buffer while it waits in the dispatcher's idle
// set, never a thread, and is closed once its request is overdue.
#include "fcgi/budget.hpp"
#include "fcgi/dispatcher.hpp"
#include "fcgi/protocol.hpp"
#include "util/unique_fd.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace leadhook::fcgi {

struct ReadPolicy {
    /// A request that sends nothing for this long is given up.
    std::chrono::milliseconds timeout{10000};
    /// Past `timeout` from its first byte, so is one that has averaged less.
    std::size_t min_bytes_per_second = 16384;
    /// Read by one worker in one turn; then the connection waits its turn
    /// again, so one fast peer cannot keep a worker for itself.
    std::size_t max_bytes_per_turn = 1u << 20;
};

/// Why the edge answers a request without reading its body.
enum class Refusal { none, too_large, over_budget, length_not_a_number };

class FcgiConnection final : public Connection {
  public:
    using Step = RequestReader::Step;
    using SteadyClock = std::chrono::steady_clock;

    FcgiConnection(UniqueFd fd, ProtocolLimits limits, ReadPolicy policy)
        : m_fd(std::move(fd)), m_reader(limits), m_policy(policy) {}

    int fd() const override { return m_fd.get(); }
    std::optional<SteadyClock::time_point> deadline() const override;
    bool lingering() const override { return m_drain_until.has_value(); }

    /// Feeds the reader what was left over, then what the socket holds (up
    /// to a turn's worth), until the reader has something to say or the
    /// socket is drained (more). EOF ends in the reader's verdict on it; a
    /// read error closes.
    Step advance(SteadyClock::time_point now);
    RequestReader& reader() { return m_reader; }

    /// Writes all of `bytes`; waits at most `within` for a peer that reads
    /// nothing. False when they could not all be written.
    bool send(std::string_view bytes, std::chrono::milliseconds within);

    /// The share of the byte budget held for the request being read.
    ByteBudget::Hold& hold() { return m_hold; }
    /// A request was answered: the next one's clock starts with its first byte.
    void request_done();
    /// Says it will send nothing more, and from now on reads and discards
    /// what the peer still sends until its EOF, or `until`. Closing at once
    /// with unread bytes would reset the connection, and with it the answer
    /// the peer has not read yet (a body refused unread, say).
    void close_after_peer(SteadyClock::time_point until);

    /// Why the current request's body is not read (the server decides).
    Refusal refusal = Refusal::none;

  private:
    void progress(SteadyClock::time_point now, std::size_t bytes);

    UniqueFd m_fd;
    RequestReader m_reader;
    ReadPolicy m_policy;
    std::string m_pending; ///< read but not yet consumed (the next request's start)
    bool m_eof = false;
    ByteBudget::Hold m_hold;
    std::optional<SteadyClock::time_point> m_drain_until;
    std::optional<SteadyClock::time_point> m_first_byte;
    SteadyClock::time_point m_last_byte{};
    std::size_t m_received = 0;
};

} // namespace leadhook::fcgi
