#include "fcgi/fcgi_server.hpp"

#include "body/media_type.hpp"
#include "fcgi/connection.hpp"
#include "fcgi/listen_socket.hpp"
#include "http/cgi_headers.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <new>
#include <thread>
#include <vector>

namespace leadhook::fcgi {
namespace {

/// How long a worker waits for a connection before it looks at the stop
/// flag again and reports progress to the watchdog.
constexpr std::chrono::milliseconds idle_wait{1000};

/// How long a connection that is done may still be read from (and what
/// comes discarded) before it is closed, so that its answer is not lost.
constexpr std::chrono::seconds linger{2};

/// Bodies from this size on give their memory back to the system when they
/// are done (after_large_body), so a burst does not leave the process big.
constexpr std::size_t large_body = 1u << 20;

std::string_view param(const Params& params, std::string_view name) {
    for (const auto& [key, value] : params) {
        if (key == name) {
            return value; // the first, as CGI environments have it
        }
    }
    return {};
}

std::string request_path(const Params& params) {
    std::string path(param(params, "DOCUMENT_URI"));
    if (path.empty()) {
        path = std::string(param(params, "SCRIPT_NAME")) + std::string(param(params, "PATH_INFO"));
    }
    if (path.empty()) {
        const std::string_view uri = param(params, "REQUEST_URI");
        path = std::string(uri.substr(0, uri.find('?')));
    }
    return path;
}

/// CONTENT_LENGTH: 0 when absent, nullopt when not a number.
std::optional<std::size_t> content_length(const Params& params) {
    const std::string_view declared = param(params, "CONTENT_LENGTH");
    std::size_t length = 0;
    const auto [end, ec] =
        std::from_chars(declared.data(), declared.data() + declared.size(), length);
    if (!declared.empty() && (ec != std::errc{} || end != declared.data() + declared.size())) {
        return std::nullopt;
    }
    return length;
}

bool is_json(std::string_view content_type) {
    const auto media = body::parse_media_type(content_type);
    return media && media->essence == "application/json";
}

std::string make_request_id(unsigned long long n) {
    return "lh-" + std::to_string(::getpid()) + "-" + std::to_string(n);
}

/// The CGI response (status line, headers, body) that goes on FCGI_STDOUT.
std::string response_text(const http::Response& response) {
    std::string text = "Status: " + std::to_string(response.status) + " " +
                       http::reason_phrase(response.status) +
                       "\r\nContent-Type: " + response.content_type + "\r\n";
    for (const auto& [name, value] : response.headers) {
        text += name + ": " + value + "\r\n";
    }
    text += "Content-Length: " + std::to_string(response.body.size()) + "\r\n\r\n";
    text += response.body;
    return text;
}

/// Our own socket, or the one systemd passed.
Expected<ListenSocket, std::string> listen_socket(const ServerOptions& options) {
    auto inherited = systemd_listen_socket();
    if (!inherited) {
        return unexpected(std::move(inherited).error());
    }
    if (*inherited) {
        return std::move(**inherited);
    }
    auto bound = bind_listen_socket(options.listen, options.socket_mode, options.backlog);
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
      m_budget(std::make_unique<ByteBudget>(m_options.max_bytes_in_flight)),
      m_dispatcher(std::move(dispatcher)),
      m_pool(std::make_unique<PoolMonitor>(m_options.threads)) {}

FcgiServer::FcgiServer(FcgiServer&& other) noexcept
    : m_options(std::move(other.m_options)), m_fd(std::move(other.m_fd)),
      m_from_systemd(other.m_from_systemd), m_description(std::move(other.m_description)),
      m_log(other.m_log), m_clock(other.m_clock), m_budget(std::move(other.m_budget)),
      m_dispatcher(std::move(other.m_dispatcher)), m_pool(std::move(other.m_pool)) {}

FcgiServer::~FcgiServer() {
    if (m_fd.valid() && !m_from_systemd && m_options.listen.starts_with("unix:")) {
        // After "unix:". Best effort: a socket file left behind is removed
        // by the next start's bind anyway.
        (void)::unlink(m_options.listen.substr(5).c_str());
    }
}

Expected<FcgiServer, std::string> FcgiServer::open(const ServerOptions& options, obs::Logger& log,
                                                   const Clock& clock) {
    auto socket = listen_socket(options);
    if (!socket) {
        return unexpected(std::move(socket).error());
    }
    UniqueFd fd = std::move(socket->fd);
    const ConnectionFactory make = [limits = options.protocol,
                                    reads = options.reads](UniqueFd accepted) -> ConnectionPtr {
        // nothrow: out of memory, the dispatcher drops this connection and goes on.
        return std::unique_ptr<FcgiConnection>(
            new (std::nothrow) FcgiConnection(std::move(accepted), limits, reads));
    };
    auto dispatcher = Dispatcher::create(fd.get(), make, options.connections, log);
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
        // Every connection comes from the factory in open().
        if (connection && serve(static_cast<FcgiConnection&>(*connection), handle)) {
            m_dispatcher->give_back(std::move(connection)); // closes it once stopped
        }
    }
}

/// Reads what has arrived on `connection` and answers each request it
/// completes; returns whether the connection waits for more (an unfinished
/// request, or the next one) rather than closing.
bool FcgiServer::serve(FcgiConnection& connection, const Handler& handle) {
    using Step = FcgiConnection::Step;
    while (true) {
        const Step step = connection.advance(std::chrono::steady_clock::now());
        std::string& replies = connection.reader().replies();
        if (!replies.empty() && !connection.send(replies, m_options.write_timeout)) {
            return false;
        }
        replies.clear();
        switch (step) {
        case Step::more:
            return true;
        case Step::close:
            // EOF between requests (the web server let a kept-alive
            // connection go) is routine; so is garbage from a client that
            // is not a web server. Neither is worth a line.
            return false;
        case Step::params:
            admit_body(connection);
            break;
        case Step::ready:
            if (!answer(connection, handle)) {
                return false;
            }
            break;
        }
    }
}

/// The body's size is known from CONTENT_LENGTH before a byte of it is
/// read: too large for its type, or for the bytes in flight, it is never read.
void FcgiServer::admit_body(FcgiConnection& connection) {
    RequestReader& reader = connection.reader();
    const Params& params = reader.request().params;
    const auto declared = content_length(params);
    const std::size_t limit =
        is_json(param(params, "CONTENT_TYPE"))
            ? std::min(m_options.max_json_body_bytes, m_options.max_body_bytes)
            : m_options.max_body_bytes;
    connection.refusal = !declared           ? Refusal::length_not_a_number
                         : *declared > limit ? Refusal::too_large
                                             : Refusal::none;
    if (connection.refusal == Refusal::none) {
        if (auto hold = m_budget->take(*declared)) {
            connection.hold() = std::move(*hold);
            reader.admit_body(*declared);
            return;
        }
        connection.refusal = Refusal::over_budget;
    }
    reader.refuse_body();
}

/// Answers the request the reader completed; returns whether the
/// connection may carry another.
bool FcgiServer::answer(FcgiConnection& connection, const Handler& handle) {
    m_pool->request_started();
    const std::size_t body_bytes = connection.hold().bytes();
    bool sent = false;
    bool keep = false;
    {
        // Its own scope: the body is freed before its memory is given back.
        IncomingRequest incoming = connection.reader().take();
        keep = incoming.keep_connection;
        const std::uint16_t id = incoming.id;
        http::Request request = to_http(std::move(incoming), connection.refusal);
        const unsigned long long n = ++m_served;
        if (request.request_id.empty()) {
            request.request_id = make_request_id(n);
        }
        sent = connection.send(encode_response(id, response_text(handle(request))),
                               m_options.write_timeout);
        if (!sent) {
            m_log.write("warn", {{"req", request.request_id},
                                 {"msg", "client went away before the response was written"}});
        }
    }
    connection.request_done();
    connection.refusal = Refusal::none;
    if (body_bytes >= large_body && m_options.after_large_body) {
        m_options.after_large_body();
    }
    m_pool->request_finished();
    if (!sent) {
        return false;
    }
    // Not reusable after a refused body, which was left unread: where the
    // next request would start is anyone's guess.
    if (!keep || !connection.reader().reusable()) {
        connection.close_after_peer(std::chrono::steady_clock::now() + linger);
    }
    return true;
}

http::Request FcgiServer::to_http(IncomingRequest incoming, Refusal refusal) const {
    const Params& params = incoming.params;
    return http::Request{.method = std::string(param(params, "REQUEST_METHOD")),
                         .path = request_path(params),
                         .content_type = std::string(param(params, "CONTENT_TYPE")),
                         .body = std::move(incoming.body),
                         .body_too_large = refusal == Refusal::too_large,
                         .over_budget = refusal == Refusal::over_budget,
                         .body_error = refusal == Refusal::length_not_a_number
                                           ? "CONTENT_LENGTH is not a number"
                                           : std::move(incoming.error),
                         .remote_addr = std::string(param(params, "REMOTE_ADDR")),
                         .request_id = std::string(param(params, "REQUEST_ID")),
                         .received_at = m_clock.now(),
                         .headers = http::kept_headers(params)};
}

} // namespace leadhook::fcgi
