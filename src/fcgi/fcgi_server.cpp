#include "fcgi/fcgi_server.hpp"

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

std::string libfcgi_target(const std::string& listen) {
    return listen.starts_with("unix:") ? listen.substr(5) : listen;
}

} // namespace

FcgiServer::FcgiServer(ServerOptions options, int fd, obs::Logger& log, const Clock& clock)
    : m_options(std::move(options)), m_fd(fd), m_log(log), m_clock(clock) {}

FcgiServer::FcgiServer(FcgiServer&& other) noexcept
    : m_options(std::move(other.m_options)), m_fd(other.m_fd), m_log(other.m_log),
      m_clock(other.m_clock) {
    other.m_fd = -1;
}

FcgiServer::~FcgiServer() {
    if (m_fd < 0) {
        return;
    }
    ::close(m_fd);
    if (m_options.listen.starts_with("unix:")) {
        ::unlink(libfcgi_target(m_options.listen).c_str());
    }
}

Expected<FcgiServer, std::string> FcgiServer::open(const ServerOptions& options, obs::Logger& log,
                                                   const Clock& clock) {
    if (FCGX_Init() != 0) {
        return unexpected(std::string("FCGX_Init failed"));
    }
    const std::string target = libfcgi_target(options.listen);
    const int fd = FCGX_OpenSocket(target.c_str(), options.backlog);
    if (fd < 0) {
        return unexpected("cannot listen on " + options.listen + ": " + std::strerror(errno));
    }
    FcgiServer server(options, fd, log, clock);
    if (options.listen.starts_with("unix:") &&
        ::chmod(target.c_str(), static_cast<mode_t>(options.socket_mode)) != 0) {
        return unexpected("chmod " + target + ": " + std::strerror(errno));
    }
    return server;
}

void FcgiServer::stop() noexcept {
    m_stopping = true;
    // shutdown() on a listening socket makes every blocked accept() return,
    // which is how idle workers learn that it is time to go.
    (void)::shutdown(m_fd, SHUT_RDWR);
}

unsigned long long FcgiServer::serve(const HandlerFactory& make_handler) {
    std::vector<std::thread> workers;
    for (int i = 0; i < m_options.threads; ++i) {
        workers.emplace_back([this, &make_handler] { worker(make_handler); });
    }
    for (auto& w : workers) {
        w.join();
    }
    return m_served.load();
}

void FcgiServer::worker(const HandlerFactory& make_handler) {
    Handler handle = make_handler();
    RequestSlot slot(m_fd);
    if (!slot.ok()) {
        m_log.error("FCGX_InitRequest failed; worker not started");
        return;
    }
    while (!m_stopping) {
        if (FCGX_Accept_r(&slot.get()) < 0) {
            if (!m_stopping) {
                m_log.write("error",
                            {{"msg", "FCGX_Accept_r failed"}, {"errno", std::strerror(errno)}});
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            continue;
        }
        const auto n = ++m_served;
        FCGX_Request& req = slot.get();
        http::Request request{.method = param(req, "REQUEST_METHOD"),
                              .path = request_path(req),
                              .content_type = param(req, "CONTENT_TYPE"),
                              .remote_addr = param(req, "REMOTE_ADDR"),
                              .request_id = param(req, "REQUEST_ID"),
                              .received_at = m_clock.now()};
        if (request.request_id.empty()) {
            request.request_id = make_request_id(n);
        }
        read_body(req, m_options.max_body_bytes, request);
        if (!write_response(req, handle(request))) {
            m_log.write("warn", {{"req", request.request_id},
                                 {"msg", "client went away before the response was written"}});
        }
        FCGX_Finish_r(&req);
    }
}

} // namespace leadhook::fcgi
