#include "fcgi/fcgi_server.hpp"

#include "fcgi/listen_socket.hpp"

#include <fcgiapp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>
#include <vector>

namespace leadhook::fcgi {
namespace {

/// How long a blocked accept() waits before its worker looks at the stop
/// flag again and reports progress to the watchdog.
constexpr std::chrono::milliseconds accept_timeout{1000};

/// Owns one FCGX_Request for the life of a worker.
class RequestSlot {
  public:
    explicit RequestSlot(int fd) : m_ok(FCGX_InitRequest(&m_req, fd, 0) == 0) {}
    ~RequestSlot() { FCGX_Free(&m_req, /*close=*/1); }
    RequestSlot(const RequestSlot&) = delete;
    RequestSlot& operator=(const RequestSlot&) = delete;

    bool ok() const { return m_ok; }
    FCGX_Request& get() { return m_req; }

  private:
    FCGX_Request m_req{};
    bool m_ok;
};

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

/// Reads the body unless it is over the limit, in which case it is left
/// unread: libfcgi discards it when the request finishes.
void read_body(FCGX_Request& req, std::size_t limit, http::Request& out) {
    const std::string declared = param(req, "CONTENT_LENGTH");
    std::size_t length = 0;
    auto [end, ec] = std::from_chars(declared.data(), declared.data() + declared.size(), length);
    if (ec == std::errc{} && length > limit) {
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
    return put(head) && put(response.body) && FCGX_FFlush(req.out) == 0;
}

/// Reads one accepted request, hands it to `handle` and writes the answer.
void answer(FCGX_Request& req, const Handler& handle, unsigned long long n, EpochMicros now,
            std::size_t max_body_bytes, obs::Logger& log) {
    http::Request request{.method = param(req, "REQUEST_METHOD"),
                          .path = request_path(req),
                          .content_type = param(req, "CONTENT_TYPE"),
                          .remote_addr = param(req, "REMOTE_ADDR"),
                          .request_id = param(req, "REQUEST_ID"),
                          .received_at = now};
    if (request.request_id.empty()) {
        request.request_id = make_request_id(n);
    }
    read_body(req, max_body_bytes, request);
    if (!write_response(req, handle(request))) {
        log.write("warn", {{"req", request.request_id},
                           {"msg", "client went away before the response was written"}});
    }
}

std::string libfcgi_target(const std::string& listen) {
    return listen.starts_with("unix:") ? listen.substr(5) : listen;
}

/// Binds options.listen through libfcgi, which first removes a stale unix
/// socket file left by a process that did not exit cleanly.
Expected<UniqueFd, std::string> bind_socket(const ServerOptions& options) {
    const std::string target = libfcgi_target(options.listen);
    UniqueFd fd(FCGX_OpenSocket(target.c_str(), options.backlog));
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
                       std::string description, obs::Logger& log, const Clock& clock)
    : m_options(std::move(options)), m_fd(std::move(fd)), m_from_systemd(from_systemd),
      m_description(std::move(description)), m_log(log), m_clock(clock),
      m_pool(std::make_unique<PoolMonitor>(m_options.threads)) {}

FcgiServer::FcgiServer(FcgiServer&& other) noexcept
    : m_options(std::move(other.m_options)), m_fd(std::move(other.m_fd)),
      m_from_systemd(other.m_from_systemd), m_description(std::move(other.m_description)),
      m_log(other.m_log), m_clock(other.m_clock), m_pool(std::move(other.m_pool)) {}

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
    if (auto error = set_receive_timeout(fd.get(), accept_timeout)) {
        return unexpected("the listening socket: " + *error);
    }
    const std::string description =
        socket->address + (socket->from_systemd ? " (from systemd)" : "");
    log.write("info", {{"msg", socket->from_systemd ? "listening on the socket systemd passed"
                                                    : "listening on our own socket"},
                       {"socket", socket->address}});
    return FcgiServer(options, std::move(fd), socket->from_systemd, description, log, clock);
}

void FcgiServer::stop() noexcept {
    m_pool->request_stop();
    if (!m_from_systemd) {
        // Wakes every blocked accept() at once, and refuses new connections,
        // so nginx fails over at once instead of waiting in a queue nobody
        // reads. Never on systemd's socket: it queues for the next start.
        (void)::shutdown(m_fd.get(), SHUT_RDWR);
    }
}

bool FcgiServer::making_progress(std::chrono::steady_clock::duration within) const {
    return m_pool->making_progress(std::chrono::steady_clock::now(), within);
}

ServeResult FcgiServer::serve(const HandlerFactory& make_handler,
                              const std::function<void()>& on_ready) {
    std::vector<std::thread> workers;
    for (int i = 0; i < m_options.threads; ++i) {
        workers.emplace_back([this, &make_handler] { worker(make_handler); });
    }
    if (m_pool->wait_started() > 0 && !m_pool->stop_requested() && on_ready) {
        on_ready();
    }
    m_pool->wait_stop_or_exit();
    ServeResult result{.stopped = m_pool->stop_requested()};
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
    RequestSlot slot(m_fd.get());
    if (!slot.ok()) {
        m_log.error("FCGX_InitRequest failed; worker not started");
        return;
    }
    m_pool->worker_started();
    // Every worker blocks in accept(), as libfcgi means it to: the kernel
    // hands connections to the waiting workers in turn, and a client that
    // connects and sends nothing holds up only the worker that took it.
    while (!m_pool->stop_requested()) {
        const int accepted = FCGX_Accept_r(&slot.get());
        m_pool->heartbeat(std::chrono::steady_clock::now());
        if (accepted == -EAGAIN) {
            continue; // accept_timeout passed: look at the stop flag again
        }
        if (accepted < 0) {
            if (!m_pool->stop_requested()) {
                m_log.write("error",
                            {{"msg", "FCGX_Accept_r failed"}, {"errno", std::strerror(-accepted)}});
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            continue;
        }
        m_pool->request_started();
        // TCP connections inherit the accept timeout, which would cut a slow
        // body short; unanswered, nginx says 502 and Mailgun retries.
        if (auto error = set_receive_timeout(slot.get().ipcFd, std::chrono::milliseconds(0))) {
            m_log.write("error", {{"msg", "dropping a connection"}, {"error", *error}});
        } else {
            answer(slot.get(), handle, ++m_served, m_clock.now(), m_options.max_body_bytes, m_log);
        }
        FCGX_Finish_r(&slot.get());
        m_pool->request_finished();
    }
}

} // namespace leadhook::fcgi
