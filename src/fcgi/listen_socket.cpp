#include "fcgi/listen_socket.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>

namespace leadhook::fcgi {
namespace {

std::string errno_text(int negative_errno) {
    return std::strerror(-negative_errno);
}

/// > 0: a listening stream socket of this family; 0: not; < 0: -errno.
int listening_stream(int fd, int family) {
    return sd_is_socket(fd, family, SOCK_STREAM, /*listening=*/1);
}

std::string inet_address(const sockaddr_storage& address) {
    char host[INET6_ADDRSTRLEN] = "?";
    if (address.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(address);
        if (inet_ntop(AF_INET, &in.sin_addr, host, sizeof host) == nullptr) {
            return "inet:?";
        }
        return std::string(host) + ":" + std::to_string(ntohs(in.sin_port));
    }
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    if (inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host) == nullptr) {
        return "inet6:?";
    }
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6.sin6_port));
}

std::string errno_message(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

Expected<UniqueFd, std::string> listening(UniqueFd fd, const sockaddr* address, socklen_t length,
                                          int backlog, const std::string& name) {
    if (::bind(fd.get(), address, length) != 0) {
        return unexpected(errno_message("cannot bind " + name));
    }
    if (::listen(fd.get(), backlog) != 0) {
        return unexpected(errno_message("cannot listen on " + name));
    }
    return fd;
}

Expected<UniqueFd, std::string> bind_unix(const std::string& path, unsigned mode, int backlog) {
    sockaddr_un address{.sun_family = AF_UNIX, .sun_path = {}};
    if (path.empty() || path.size() >= sizeof address.sun_path) {
        return unexpected("unix socket path must be 1 to " +
                          std::to_string(sizeof address.sun_path - 1) + " bytes: " + path);
    }
    std::memcpy(address.sun_path, path.data(), path.size());
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return unexpected(path + " exists and is not a socket");
        }
        (void)::unlink(path.c_str()); // a stale socket: bind() says if it is not gone
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return unexpected(errno_message("socket"));
    }
    // The file gets its mode as it is made (bind honours the umask): a
    // chmod after listen() would refuse nginx's first connections.
    const mode_t previous = ::umask(static_cast<mode_t>(~mode & 0777));
    auto bound = listening(std::move(fd), reinterpret_cast<const sockaddr*>(&address),
                           sizeof address, backlog, "unix:" + path);
    ::umask(previous);
    return bound;
}

Expected<UniqueFd, std::string> bind_inet(const std::string& listen, int backlog) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
        return unexpected("listen address must be unix:/path or host:port: " + listen);
    }
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    const std::string port = listen.substr(colon + 1);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    if (const int error =
            ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
        error != 0) {
        return unexpected("cannot resolve " + listen + ": " + ::gai_strerror(error));
    }
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, ::freeaddrinfo);
    std::string last_error = "no address for " + listen;
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
        const int on = 1;
        if (!fd.valid() || ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
            last_error = errno_message(fd.valid() ? "setsockopt" : "socket");
            continue;
        }
        auto bound = listening(std::move(fd), a->ai_addr, a->ai_addrlen, backlog, listen);
        if (bound) {
            return bound;
        }
        last_error = bound.error();
    }
    return unexpected(last_error);
}

} // namespace

std::string socket_address(int fd) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        return "fd:" + std::to_string(fd);
    }
    if (address.ss_family != AF_UNIX) {
        return inet_address(address);
    }
    const auto& un = reinterpret_cast<const sockaddr_un&>(address);
    const auto path_length = length - offsetof(sockaddr_un, sun_path);
    // An abstract socket's name starts with a NUL byte; shown as @name.
    std::string path(un.sun_path, ::strnlen(un.sun_path, path_length));
    if (path.empty() && path_length > 1) {
        path = "@" + std::string(un.sun_path + 1, path_length - 1);
    }
    return "unix:" + path;
}

Expected<std::optional<ListenSocket>, std::string> systemd_listen_socket() {
    const int count = sd_listen_fds(/*unset_environment=*/1);
    if (count < 0) {
        return unexpected("sd_listen_fds: " + errno_text(count));
    }
    if (count == 0) {
        return std::optional<ListenSocket>{};
    }
    if (count > 1) {
        return unexpected("systemd passed " + std::to_string(count) +
                          " sockets; leadhook serves exactly one (one ListenStream= per "
                          "leadhook.socket)");
    }
    const int fd = SD_LISTEN_FDS_START;
    for (const int family : {AF_UNIX, AF_INET, AF_INET6}) {
        const int is = listening_stream(fd, family);
        if (is < 0) {
            return unexpected("sd_is_socket: " + errno_text(is));
        }
        if (is > 0) {
            return std::optional<ListenSocket>{
                ListenSocket{UniqueFd(fd), true, socket_address(fd)}};
        }
    }
    return unexpected(std::string("the socket systemd passed is not a listening unix or inet "
                                  "stream socket (use ListenStream= in leadhook.socket)"));
}

Expected<UniqueFd, std::string> bind_listen_socket(const std::string& listen, unsigned mode,
                                                   int backlog) {
    if (listen.starts_with("unix:")) {
        return bind_unix(listen.substr(5), mode, backlog);
    }
    return bind_inet(listen, backlog);
}

} // namespace leadhook::fcgi
