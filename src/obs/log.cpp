#include "obs/log.hpp"

#include "util/utf8.hpp"

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <optional>
#include <shared_mutex>
#include <unistd.h>

namespace leadhook::obs {
namespace {

/// Bytes of the character at value[i] that go into a line as they are: a
/// printable ASCII byte, or a whole valid UTF-8 sequence other than a C1
/// control (U+0080..U+009F, which some terminals act on, as they do on
/// ESC). 0: value[i] is written as \xNN. So a line is always valid UTF-8,
/// and nothing a client sends reaches the terminal of whoever reads it.
std::size_t verbatim_length(std::string_view value, std::size_t i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x80) {
        return c < ' ' || c == 0x7f ? 0 : 1;
    }
    const std::size_t n = storable_utf8_length(value, i);
    const bool c1_control = n == 2 && c == 0xC2 && static_cast<unsigned char>(value[i + 1]) < 0xA0;
    return c1_control ? 0 : n;
}

bool needs_quotes(std::string_view value) {
    for (std::size_t i = 0; i < value.size();) {
        const char c = value[i];
        const std::size_t n = verbatim_length(value, i);
        if (n == 0 || c == ' ' || c == '"' || c == '=' || c == '\\') {
            return true;
        }
        i += n;
    }
    return false;
}

void append_value(std::string& out, std::string_view value) {
    if (!needs_quotes(value)) {
        out.append(value);
        return;
    }
    out.push_back('"');
    for (std::size_t i = 0; i < value.size();) {
        const char c = value[i];
        const std::size_t n = verbatim_length(value, i);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out.append("\\n");
        } else if (n == 0) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\x%02x", static_cast<unsigned char>(c));
            out.append(esc);
        } else {
            out.append(value.substr(i, n));
            i += n;
            continue;
        }
        ++i;
    }
    out.push_back('"');
}

void write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return; // nowhere better to report it; the request goes on
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace

std::string format_logfmt(EpochMicros ts, std::string_view level,
                          std::initializer_list<LogField> fields) {
    std::string line = "ts=" + format_utc(ts) + " level=";
    line.append(level);
    for (const auto& field : fields) {
        if (field.value.empty()) {
            continue; // an absent value says nothing; keep lines short
        }
        line.push_back(' ');
        line.append(field.key);
        line.push_back('=');
        append_value(line, field.value);
    }
    line.push_back('\n');
    return line;
}

std::string_view syslog_priority_prefix(std::string_view level) {
    if (level == "error") {
        return "<3>";
    }
    if (level == "warn") {
        return "<4>";
    }
    if (level == "debug") {
        return "<7>";
    }
    return "<6>";
}

bool is_journal_stream(std::string_view journal_stream, std::uint64_t device, std::uint64_t inode) {
    const auto colon = journal_stream.find(':');
    if (colon == std::string_view::npos) {
        return false;
    }
    const auto number = [](std::string_view text) -> std::optional<std::uint64_t> {
        std::uint64_t value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
            return std::nullopt;
        }
        return value;
    };
    const auto dev = number(journal_stream.substr(0, colon));
    const auto ino = number(journal_stream.substr(colon + 1));
    return dev && ino && *dev == device && *ino == inode;
}

void Logger::write(std::string_view level, std::initializer_list<LogField> fields) {
    std::string line = format_logfmt(m_clock.now(), level, fields);
    if (m_prefix == LinePrefix::syslog_priority) {
        line.insert(0, syslog_priority_prefix(level));
    }
    // A failed log write has nowhere better to be reported; the request goes on.
    if (m_fd < 0) {
        std::lock_guard lock(m_mutex);
        (void)std::fwrite(line.data(), 1, line.size(), m_out);
        (void)std::fflush(m_out);
        return;
    }
    // One write(2) of at most PIPE_BUF bytes is never interleaved with
    // another, on a pipe, a unix stream socket (journald) or a file alike, so
    // request lines share the lock and 64 workers do not queue on it. A
    // longer line may take several writes: it holds the lock alone.
    if (line.size() <= PIPE_BUF) {
        std::shared_lock lock(m_mutex);
        write_all(m_fd, line);
    } else {
        std::lock_guard lock(m_mutex);
        write_all(m_fd, line);
    }
}

} // namespace leadhook::obs
