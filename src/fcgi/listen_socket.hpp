#pragma once
// Where the listening socket comes from: systemd (socket activation,
// sd_listen_fds), or our own bind.
#include "util/expected.hpp"
#include "util/unique_fd.hpp"

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

/// Listens on `listen`: "unix:/path" (a socket file that a process which did
/// not exit cleanly left there is replaced; any other file is not) with
/// permissions `mode` from the moment it exists, or "host:port" (an empty
/// host: every address).
Expected<UniqueFd, std::string> bind_listen_socket(const std::string& listen, unsigned mode,
                                                   int backlog);

} // namespace leadhook::fcgi
