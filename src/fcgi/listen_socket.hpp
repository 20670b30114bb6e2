#pragma once
// Where the listening socket comes from when systemd owns it (socket
// activation, sd_listen_fds), and small checks on any listening socket.
// Binding our own socket is libfcgi's job, in fcgi_server.cpp.
#include "util/expected.hpp"
#include "util/unique_fd.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace leadhook::fcgi {

struct ListenSocket {
    UniqueFd fd;
    /// Passed by systemd: not ours to chmod, unlink or shut down, since
    /// systemd keeps it open and queues connections in it while we restart.
    bool from_systemd = false;
    std::string address; ///< "unix:/path" or "host:port", for logs and status
};

/// The socket systemd passed (LISTEN_FDS), taken out of the environment so
/// that no child inherits it; nullopt when not socket-activated. An error
/// when systemd passed more than one socket or one leadhook cannot serve
/// FastCGI on (not a listening unix or inet stream socket).
Expected<std::optional<ListenSocket>, std::string> systemd_listen_socket();

/// The socket's own address as "unix:/path", "host:port" or "[v6]:port".
std::string socket_address(int fd);

/// SO_RCVTIMEO; 0 turns it off. TCP connections inherit it from their
/// listener.
std::optional<std::string> set_receive_timeout(int fd, std::chrono::milliseconds timeout);

} // namespace leadhook::fcgi
