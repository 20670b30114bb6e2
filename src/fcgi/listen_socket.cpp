#include "fcgi/listen_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

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

std::optional<std::string> set_receive_timeout(int fd, std::chrono::milliseconds timeout) {
    const timeval tv{.tv_sec = static_cast<time_t>(timeout.count() / 1000),
                     .tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
        return std::string("setsockopt(SO_RCVTIMEO): ") + std::strerror(errno);
    }
    return std::nullopt;
}

} // namespace leadhook::fcgi
