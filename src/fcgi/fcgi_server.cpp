#include "fcgi/fcgi_server.hpp"

#include "fcgi/listen_socket.hpp"
#include "http/cgi_headers.hpp"

#include <fcgiapp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

namespace leadhook::fcgi {
namespace {

/// How long a worker waits for a connection before it looks at the stop
/// flag again and reports progress to the watchdog.
constexpr std::chrono::milliseconds idle_wait{1000};

/// One web-server connection and the FCGX_Request that reads it, which owns
/// the descriptor: libfcgi closes it itself when a request ends without
/// FCGI_KEEP_CONN, or when the peer sends EOF or garbage instead of one.
class FcgiConnection final : public Connection {
  public:
    explicit FcgiConnection(int fd) noexcept
        : m_ok(FCGX_InitRequest(&m_req, /*sock=*/-1, /*flags=*/0) == 0) {
        // No listening socket (-1): where libfcgi would accept() a new
        // connection after closing a bad one, it fails instead.
        m_req.ipcFd = fd;
        // FCGX_Accept_r first finishes the previous request, closing the
        // connection unless it is kept; there is none yet.
        m_req.keepConnection = 1;
    }
    ~FcgiConnection() override {
        FCGX_Free(&m_req, /*close=*/0); // streams and params only
        if (m_req.ipcFd >= 0) {
            // Not libfcgi's close, which lingers up to 2 s for the peer's EOF.
            (void)::close(m_req.ipcFd); // nothing to retry (see UniqueFd)
        }
    }
    FcgiConnection(const FcgiConnection&) = delete;
    FcgiConnection& operator=(const FcgiConnection&) = delete;

    bool ok() const { return m_ok; }
    int fd() const override { return m_req.ipcFd; }
    FCGX_Request& request() { return m_req; }

  private:
    FCGX_Request m_req{};
    bool m_ok;
};

/// The dispatcher's ConnectionFactory: owns `fd` from here on.
ConnectionPtr make_connection(int fd) {
    std::unique_ptr<FcgiConnection> connection(new (std::nothrow) FcgiConnection(fd));
    if (!connection) {
        (void)::close(fd);
        return nullptr;
    }
    return connection->ok() ? std::move(connection) : nullptr;
}

std::string param(FCGX_Request& req, const char* name) {
    const char* value = FCGX_GetParam(name, req.envp);
    return value ? value : "";
}

std::string request_path(FCGX_Request& req) {
    std::string path = param(req, "DOCUMENT_URI");
    if (path.empty()) {
        path = param(req, "SCRIPT_NAME") + param(req, "PATH_INFO");
    }
    if (path.empty()) {
        path = param(req, "REQUEST_URI");
        path = path.substr(0, path.find('?'));
    }
    return path;
}

/// Reads the body unless it is over the limit, in which case the rest is
/// left unread (and the connection closed after the answer).
/// The body from FCGI_STDIN, held to CONTENT_LENGTH as the FastCGI spec
/// (6.2) asks: a body longer or shorter than declared, or a stream that broke
/// off before its end record, is not handled as if it were whole.
void read_body(FCGX_Request& req, std::size_t limit, http::Request& out) {
    const std::string declared = param(req, "CONTENT_LENGTH");
    std::size_t length = 0;
    const auto [end, ec] =
        std::from_chars(declared.data(), declared.data() + declared.size(), length);
    const bool valid =
        declared.empty() || (ec == std::errc{} && end == declared.data() + declared.size());
    if (valid && length > limit) {
        out.body_too_large = true;
        return;
    }
    char buf[16384];
    for (int got; (got = FCGX_GetStr(buf, sizeof buf, req.in)) > 0;) {
        if (out.body.size() + static_cast<std::size_t>(got) > limit) {
            out.body_too_large = true;
            out.body.clear();
            return;
        }
        out.body.append(buf, static_cast<std::size_t>(got));
    }
    if (!valid) {
        out.body_error = "CONTENT_LENGTH is not a number";
    } else if (FCGX_GetError(req.in) != 0) {
        out.body_error = "request body broke off after " + std::to_string(out.body.size()) +
                         " bytes (CONTENT_LENGTH " + std::to_string(length) + ")";
    } else if (out.body.size() != length) {
        out.body_error = "request body is " + std::to_string(out.body.size()) +
                         " bytes but CONTENT_LENGTH says " + std::to_string(length);
    }
}

std::string make_request_id(unsigned long long n) {
    return "lh-" + std::to_string(::getpid()) + "-" + std::to_string(n);
}

/// Returns false if the client went away mid-answer (nothing else to do).
bool write_response(FCGX_Request& req, const http::Response& response) {
    std::string head = "Status: " + std::to_string(response.status) + " " +
                       http::reason_phrase(response.status) +
                       "\r\nContent-Type: " + response.content_type + "\r\n";
    for (const auto& [name, value] : response.headers) {
        head += name + ": " + value + "\r\n";
    }
    head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n\r\n";
    const auto put = [&](const std::string& s) {
        return s.empty() || FCGX_PutStr(s.data(), static_cast<int>(s.size()), req.out) ==
                                static_cast<int>(s.size());
    };
    // Closing the (empty) error stream first lets closing the output send
    // its last bytes and FCGI_END_REQUEST in one write. nginx keeps a
    // connection only once it has read FCGI_END_REQUEST: arriving later, it
    // races with the client, whose close makes nginx drop the connection.
    return put(head) && put(response.body) && FCGX_FClose(req.err) == 0 &&
           FCGX_FClose(req.out) == 0;
}

/// Reads one accepted request, hands it to `handle` and writes the answer.
/// Returns whether the connection may carry another request: not when part
/// of the body is left unread, which libfcgi would take for the next one.
bool answer(FCGX_Request& req, const Handler& handle, unsigned long long n, EpochMicros now,
            std::size_t max_body_bytes, obs::Logger& log) {
    http::Request request{.method = param(req, "REQUEST_METHOD"),
                          .path = request_path(req),
                          .content_type = param(req, "CONTENT_TYPE"),
                          .remote_addr = param(req, "REMOTE_ADDR"),
                          .request_id = param(req, "REQUEST_ID"),
                          .received_at = now,
                          .headers = http::kept_headers(req.envp)};
    if (request.request_id.empty()) {
        request.request_id = make_request_id(n);
    }
    read_body(req, max_body_bytes, request);
    if (!write_response(req, handle(request))) {
        log.write("warn", {{"req", request.request_id},
                           {"msg", "client went away before the response was written"}});
    }
    // After a body that did not match its length, where the next request
    // would start is anyone's guess.
    return !request.body_too_large && request.body_error.empty();
}

std::string libfcgi_target(const std::string& listen) {
    return listen.starts_with("unix:") ? listen.substr(5) : listen;
}

/// Binds options.listen through libfcgi, which first removes a stale unix
/// socket file left by a process that did not exit cleanly.
Expected<UniqueFd, std::string> bind_socket(const ServerOptions& options) {
    const std::string target = libfcgi_target(options.listen);
    // The socket file gets its mode as it is made (bind honours the umask):
    // the chmod below comes after listen(), and nginx's connections in
    // between would be refused. Start-up is single-threaded here.
    const mode_t previous = ::umask(static_cast<mode_t>(~options.socket_mode & 0777));
    UniqueFd fd(FCGX_OpenSocket(target.c_str(), options.backlog));
    ::umask(previous);
    if (!fd.valid()) {
        return unexpected("cannot listen on " + options.listen + ": " + std::strerror(errno));
    }
    if (options.listen.starts_with("unix:") &&
        ::chmod(target.c_str(), static_cast<mode_t>(options.socket_mode)) != 0) {
        const std::string error = "chmod " + target + ": " + std::strerror(errno);
        (void)::unlink(target.c_str()); // best effort: we are giving up on it anyway
        return unexpected(error);
    }
    return fd;
}

/// Our own socket, or the one systemd passed; a socket that cannot be set
/// non-blocking is refused.
Expected<ListenSocket, std::string> listen_socket(const ServerOptions& options) {
    auto inherited = systemd_listen_socket();
    if (!inherited) {
        return unexpected(std::move(inherited).error());
    }
    if (*inherited) {
        return std::move(**inherited);
    }
    auto bound = bind_socket(options);
    if (!bound) {
        return unexpected(std::move(bound).error());
    }
    return ListenSocket{
        .fd = std::move(bound).value(), .from_systemd = false, .address = options.listen};
}

} // namespace

FcgiServer::FcgiServer(ServerOptions options, UniqueFd fd, bool from_systemd,
                       std::string description, std::unique_ptr<Dispatcher> dispatcher,
                       obs::Logger& log, const Clock& clock)
    : m_options(std::move(options)), m_fd(std::move(fd)), m_from_systemd(from_systemd),
      m_description(std::move(description)), m_log(log), m_clock(clock),
      m_dispatcher(std::move(dispatcher)),
      m_pool(std::make_unique<PoolMonitor>(m_options.threads)) {}

FcgiServer::FcgiServer(FcgiServer&& other) noexcept
    : m_options(std::move(other.m_options)), m_fd(std::move(other.m_fd)),
      m_from_systemd(other.m_from_systemd), m_description(std::move(other.m_description)),
      m_log(other.m_log), m_clock(other.m_clock), m_dispatcher(std::move(other.m_dispatcher)),
      m_pool(std::move(other.m_pool)) {}

FcgiServer::~FcgiServer() {
    if (m_fd.valid() && !m_from_systemd && m_options.listen.starts_with("unix:")) {
        ::unlink(libfcgi_target(m_options.listen).c_str());
    }
}

Expected<FcgiServer, std::string> FcgiServer::open(const ServerOptions& options, obs::Logger& log,
                                                   const Clock& clock) {
    if (FCGX_Init() != 0) {
        return unexpected(std::string("FCGX_Init failed"));
    }
    auto socket = listen_socket(options);
    if (!socket) {
        return unexpected(std::move(socket).error());
    }
    UniqueFd fd = std::move(socket->fd);
    // Connections inherit a listener's receive timeout, which would cut a
    // slow body short. Versions before the dispatcher set one, and
    // systemd's socket outlives the process that set it.
    if (auto error = set_receive_timeout(fd.get(), std::chrono::milliseconds(0))) {
        return unexpected("the listening socket: " + *error);
    }
    auto dispatcher = Dispatcher::create(fd.get(), make_connection, options.connections, log);
    if (!dispatcher) {
        return unexpected(std::move(dispatcher).error());
    }
    const std::string description =
        socket->address + (socket->from_systemd ? " (from systemd)" : "");
    log.write("info", {{"msg", socket->from_systemd ? "listening on the socket systemd passed"
                                                    : "listening on our own socket"},
                       {"socket", socket->address}});
    return FcgiServer(options, std::move(fd), socket->from_systemd, description,
                      std::move(dispatcher).value(), log, clock);
}

void FcgiServer::stop() noexcept {
    m_pool->request_stop();
    m_dispatcher->stop();
    if (!m_from_systemd) {
        // Refuses new connections, so nginx fails over at once instead of
        // waiting in a queue nobody reads. Never on systemd's socket: it
        // queues for the next start. Fails only for a socket already shut.
        (void)::shutdown(m_fd.get(), SHUT_RDWR);
    }
}

bool FcgiServer::making_progress(std::chrono::steady_clock::duration within) const {
    const auto now = std::chrono::steady_clock::now();
    return m_pool->making_progress(now, within) && m_dispatcher->looping(now, within);
}

ServeResult FcgiServer::serve(const HandlerFactory& make_handler,
                              const std::function<void()>& on_ready) {
    std::thread dispatcher([this] { m_dispatcher->run(); });
    std::vector<std::thread> workers;
    for (int i = 0; i < m_options.threads; ++i) {
        workers.emplace_back([this, &make_handler] { worker(make_handler); });
    }
    if (m_pool->wait_started() > 0 && !m_pool->stop_requested() && on_ready) {
        on_ready();
    }
    m_pool->wait_stop_or_exit();
    ServeResult result{.stopped = m_pool->stop_requested()};
    // Also when every worker died: nobody is left to serve what it holds.
    // It returns at once, having closed the connections no worker has.
    m_dispatcher->stop();
    dispatcher.join();
    const auto deadline = std::chrono::steady_clock::now() + m_options.drain_timeout;
    result.workers_left = m_pool->wait_exited_until(deadline);
    result.abandoned = m_pool->in_flight();
    for (auto& w : workers) {
        if (result.workers_left == 0) {
            w.join();
        } else {
            w.detach(); // see ServeResult: the caller ends the process now
        }
    }
    result.served = m_served.load();
    return result;
}

void FcgiServer::worker(const HandlerFactory& make_handler) {
    struct Exited {
        PoolMonitor& pool;
        ~Exited() { pool.worker_exited(); }
    } exited{*m_pool};
    const Handler handle = make_handler();
    m_pool->worker_started();
    while (!m_pool->stop_requested()) {
        ConnectionPtr connection = m_dispatcher->take(idle_wait);
        m_pool->heartbeat(std::chrono::steady_clock::now());
        if (connection && serve_request(*connection, handle)) {
            m_dispatcher->give_back(std::move(connection)); // closes it once stopped
        }
    }
}

/// Reads and answers the request waiting on `connection`; returns whether
/// the connection stays open for another one.
bool FcgiServer::serve_request(Connection& connection, const Handler& handle) {
    // Every connection comes from make_connection().
    FCGX_Request& req = static_cast<FcgiConnection&>(connection).request();
    if (FCGX_Accept_r(&req) < 0) {
        // EOF (the web server let go of a kept-alive connection) or not
        // FastCGI: libfcgi closed the connection, then failed to accept()
        // on our listen_sock of -1. Routine for keepalive: no log line.
        return false;
    }
    m_pool->request_started();
    if (!answer(req, handle, ++m_served, m_clock.now(), m_options.max_body_bytes, m_log)) {
        req.keepConnection = 0;
    }
    // Closes the connection unless the web server asked to keep it
    // (FCGI_KEEP_CONN) and it had no error.
    FCGX_Finish_r(&req);
    m_pool->request_finished();
    return req.ipcFd >= 0;
}

} // namespace leadhook::fcgi
