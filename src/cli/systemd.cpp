#include "cli/systemd.hpp"

#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

namespace leadhook::cli {

obs::LinePrefix stderr_line_prefix() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat st {};
    if (stream == nullptr || ::fstat(STDERR_FILENO, &st) != 0) {
        return obs::LinePrefix::none;
    }
    // JOURNAL_STREAM is inherited by children whose stderr may point
    // elsewhere (a shell redirect): only the very same file counts.
    return obs::is_journal_stream(stream, st.st_dev, st.st_ino) ? obs::LinePrefix::syslog_priority
                                                                : obs::LinePrefix::none;
}

void Notifier::ready(const std::string& status) {
    m_ready = true;
    send("READY=1\nSTATUS=" + status);
}

void Notifier::reloaded(const std::string& status) {
    if (m_ready) {
        send("READY=1\nSTATUS=" + status);
    }
}

void Notifier::reloading() {
    if (!m_ready) {
        return;
    }
    // MONOTONIC_USEC lets a newer systemd (253+) tie this RELOADING=1 to the
    // reload it asked for; systemd 252 ignores it.
    timespec now{};
    if (::clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
        send("RELOADING=1\nSTATUS=reloading");
        return;
    }
    const long long usec = static_cast<long long>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
    send("RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=" + std::to_string(usec));
}

void Notifier::send(const std::string& state) {
    // 0: NOTIFY_SOCKET is unset (not under systemd); > 0: sent.
    const int sent = sd_notify(/*unset_environment=*/0, state.c_str());
    if (sent >= 0) {
        return;
    }
    std::lock_guard lock(m_mutex);
    if (!m_failed_before) {
        m_failed_before = true;
        m_log.write("warn", {{"msg", "sd_notify failed; systemd may not see our state"},
                             {"error", std::strerror(-sent)}});
    }
}

Watchdog::Watchdog(obs::Logger& log, Alive alive) : m_log(log), m_alive(std::move(alive)) {
    std::uint64_t usec = 0;
    const int enabled = sd_watchdog_enabled(/*unset_environment=*/0, &usec);
    if (enabled < 0) {
        m_log.write("warn", {{"msg", "WATCHDOG_USEC is invalid; not pinging the watchdog"},
                             {"error", std::strerror(-enabled)}});
    }
    if (enabled <= 0 || usec == 0) {
        return;
    }
    m_interval = std::chrono::microseconds(usec);
    m_thread = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

void Watchdog::run() {
    bool withheld = false; // log the change, not every skipped ping
    std::unique_lock lock(m_mutex);
    while (!m_wake.wait_for(lock, m_interval / 2, [&] { return m_stopping; })) {
        const bool alive = m_alive(m_interval);
        if (alive != !withheld) {
            withheld = !alive;
            m_log.write(alive ? "info" : "error",
                        {{"msg", alive ? "workers making progress again; pinging the watchdog"
                                       : "no worker made progress; not pinging the watchdog "
                                         "(systemd restarts leadhook if this lasts)"}});
        }
        if (alive) {
            const int sent = sd_notify(/*unset_environment=*/0, "WATCHDOG=1");
            if (sent < 0) {
                m_log.write("warn",
                            {{"msg", "watchdog ping failed"}, {"error", std::strerror(-sent)}});
            }
        }
    }
}

} // namespace leadhook::cli
