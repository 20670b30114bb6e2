#pragma once
// The FastCGI edge: a listening socket (our own, or systemd's), a
// dispatcher thread that holds the idle connections (dispatcher.hpp), a pool
// of worker threads, and the translation between FastCGI requests
// (protocol.hpp) and http::Request / http::Response. A worker reads what a
// connection has sent and goes back to the pool, so a slow or stalled peer
// never holds a thread; connections the web server keeps open (nginx's
// fastcgi_keep_conn) are served request after request.
#include "fcgi/budget.hpp"
#include "fcgi/connection.hpp"
#include "fcgi/dispatcher.hpp"
#include "fcgi/protocol.hpp"
#include "http/request.hpp"
#include "obs/log.hpp"
#include "util/clock.hpp"
#include "util/expected.hpp"
#include "util/pool_monitor.hpp"
#include "util/unique_fd.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace leadhook::fcgi {

struct ServerOptions {
    std::string listen;          ///< unix:/path or host:port; unused under socket activation
    unsigned socket_mode = 0660; ///< for a unix socket we bind ourselves
    int threads = 8;
    std::size_t max_body_bytes = 25u << 20;      ///< legacy posts carry attachments
    std::size_t max_json_body_bytes = 1u << 20;  ///< a JSON webhook is a few KiB
    std::size_t max_bytes_in_flight = 64u << 20; ///< request bodies held at once, all connections
    ProtocolLimits protocol;                     ///< FastCGI parameters
    ReadPolicy reads;                            ///< when a slow request is given up
    /// How long an answer may wait for a peer that reads nothing.
    std::chrono::milliseconds write_timeout{2000};
    int backlog = 256;
    std::chrono::seconds drain_timeout{30}; ///< after stop(), for requests in flight
    ConnectionEvents connections;           ///< for metrics (see ConnectionEvents)
    /// After a request with a large body: give freed memory back (allocator).
    std::function<void()> after_large_body;
};

using Handler = std::function<http::Response(const http::Request&)>;
/// Called once in each worker thread, for what a worker keeps to itself.
using HandlerFactory = std::function<Handler()>;

struct ServeResult {
    unsigned long long served = 0; ///< requests answered
    bool stopped = false;          ///< stop() ended it; otherwise every worker died
    /// Workers still running when the drain timed out, and how many of them
    /// were inside a request. When not 0 the workers were detached and still
    /// use the server, handler and everything they reference: the caller
    /// must end the process (std::_Exit) without unwinding.
    int workers_left = 0;
    int abandoned = 0;
};

class FcgiServer {
  public:
    /// Takes the socket systemd passed (socket activation) or else binds
    /// options.listen; logs which. The message says why it could not.
    static Expected<FcgiServer, std::string> open(const ServerOptions& options, obs::Logger& log,
                                                  const Clock& clock);
    FcgiServer(FcgiServer&& other) noexcept;
    FcgiServer& operator=(FcgiServer&&) = delete;
    ~FcgiServer();

    /// Serves until stop() is called (from another thread), then waits up to
    /// drain_timeout for the requests in flight. Calls `on_ready` (from this
    /// thread) once every worker is ready to accept.
    ServeResult serve(const HandlerFactory& make_handler,
                      const std::function<void()>& on_ready = {});

    /// Stops accepting and closes the idle connections; a worker closes its
    /// connection once its request is answered. Thread-safe. A socket we
    /// bound refuses new connections from now on; systemd's keeps queueing
    /// them for the next start.
    void stop() noexcept;

    /// Liveness for the watchdog: the dispatcher looped, and a worker
    /// looped or finished a request, within `within` (idle ones loop every
    /// second).
    bool making_progress(std::chrono::steady_clock::duration within) const;

    /// "unix:/run/leadhook/leadhook.sock (from systemd)" or the bound address.
    const std::string& description() const { return m_description; }

  private:
    FcgiServer(ServerOptions options, UniqueFd fd, bool from_systemd, std::string description,
               std::unique_ptr<Dispatcher> dispatcher, obs::Logger& log, const Clock& clock);
    void worker(const HandlerFactory& make_handler);
    bool serve(FcgiConnection& connection, const Handler& handle);
    void admit_body(FcgiConnection& connection);
    bool answer(FcgiConnection& connection, const Handler& handle);
    http::Request to_http(IncomingRequest incoming, Refusal refusal) const;

    ServerOptions m_options;
    UniqueFd m_fd;
    bool m_from_systemd;
    std::string m_description;
    obs::Logger& m_log;
    const Clock& m_clock;
    /// On the heap, as the server moves and the connections' holds must not;
    /// declared before the dispatcher, whose connections hold parts of it.
    std::unique_ptr<ByteBudget> m_budget;
    std::unique_ptr<Dispatcher> m_dispatcher;
    std::unique_ptr<PoolMonitor> m_pool; ///< on the heap: the server moves, waiters must not
    std::atomic<unsigned long long> m_served{0};
};

} // namespace leadhook::fcgi
