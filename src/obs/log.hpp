#pragma once
// Logs are logfmt lines (key=value) on stderr, where journald or the dev
// stack picks them up. One line per request. Callers pass only what is safe
// to keep: never keys, tokens, signatures or bodies.
#include "util/clock.hpp"

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace leadhook::obs {

struct LogField {
    std::string_view key;
    std::string value;
};

/// `ts=2026-11-29T01:02:03.456789Z level=info k=v ...`; empty values are left
/// out. Values with spaces,
/// quotes, `=` or control characters are quoted and escaped, so a hostile
/// value cannot forge a second line or field.
std::string format_logfmt(EpochMicros ts, std::string_view level,
                          std::initializer_list<LogField> fields);

/// What goes before each line. journald reads a leading `<N>` as the
/// line's syslog priority (sd-daemon(3)), which `journalctl -p` filters on.
enum class LinePrefix { none, syslog_priority };

/// `<3>` for error, `<4>` for warn, `<7>` for debug, `<6>` for anything else.
std::string_view syslog_priority_prefix(std::string_view level);

/// Whether `journal_stream` (systemd's $JOURNAL_STREAM, "DEVICE:INODE" in
/// decimal) names the file with this device and inode number: then that
/// stream is connected to journald. Anything malformed is not.
bool is_journal_stream(std::string_view journal_stream, std::uint64_t device, std::uint64_t inode);

class Logger {
  public:
    /// `out` is unbuffered (stderr) or flushed: lines go to its descriptor
    /// directly, when it has one.
    Logger(std::FILE* out, const Clock& clock, LinePrefix prefix = LinePrefix::none)
        : m_out(out), m_fd(::fileno(out)), m_clock(clock), m_prefix(prefix) {}

    void write(std::string_view level, std::initializer_list<LogField> fields);
    void info(std::string_view msg) { write("info", {{"msg", std::string(msg)}}); }
    void warn(std::string_view msg) { write("warn", {{"msg", std::string(msg)}}); }
    void error(std::string_view msg) { write("error", {{"msg", std::string(msg)}}); }

  private:
    std::FILE* m_out;
    int m_fd; ///< -1 for a stream with no descriptor (a memory stream)
    const Clock& m_clock;
    LinePrefix m_prefix;
    /// Whole lines, even from many workers: shared by lines of one atomic
    /// write, held alone by longer ones and by a stream with no descriptor.
    std::shared_mutex m_mutex;
};

} // namespace leadhook::obs
