#pragma once
// The FastCGI edge: a listening socket, a pool of worker threads, and the
// translation between libfcgi requests and http::Request / http::Response.
// fcgi_server.cpp is the only file that includes <fcgiapp.h>.
#include "http/request.hpp"
#include "obs/log.hpp"
#include "util/clock.hpp"
#include "util/expected.hpp"

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>

namespace leadhook::fcgi {

struct ServerOptions {
    std::string listen;          ///< unix:/path or host:port
    unsigned socket_mode = 0660; ///< for a unix socket
    int threads = 8;
    std::size_t max_body_bytes = 25u << 20;
    int backlog = 256;
};

using Handler = std::function<http::Response(const http::Request&)>;
/// Called once in each worker thread, so each worker owns its own
/// database connection and needs no locking.
using HandlerFactory = std::function<Handler()>;

class FcgiServer {
  public:
    /// Opens the listening socket; the message says why it could not.
    static Expected<FcgiServer, std::string> open(const ServerOptions& options, obs::Logger& log,
                                                  const Clock& clock);
    FcgiServer(FcgiServer&& other) noexcept;
    FcgiServer& operator=(FcgiServer&&) = delete;
    ~FcgiServer();

    /// Serves until stop() is called (from another thread); requests already
    /// accepted are finished first. Returns the number of requests served.
    unsigned long long serve(const HandlerFactory& make_handler);

    /// Stops accepting and wakes every idle worker. Thread-safe.
    void stop() noexcept;

  private:
    FcgiServer(ServerOptions options, int fd, obs::Logger& log, const Clock& clock);
    void worker(const HandlerFactory& make_handler);

    ServerOptions m_options;
    int m_fd;
    obs::Logger& m_log;
    const Clock& m_clock;
    std::atomic<bool> m_stopping{false};
    std::atomic<unsigned long long> m_served{0};
};

} // namespace leadhook::fcgi
