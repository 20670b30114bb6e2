#include "obs/log.hpp"

#include <charconv>
#include <cstdio>
#include <optional>

namespace leadhook::obs {
namespace {

bool needs_quotes(std::string_view value) {
    for (unsigned char c : value) {
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) {
            return true;
        }
    }
    return false;
}

void append_value(std::string& out, std::string_view value) {
    if (!needs_quotes(value)) {
        out.append(value);
        return;
    }
    out.push_back('"');
    for (unsigned char c : value) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(c));
        } else if (c == '\n') {
            out.append("\\n");
        } else if (c < ' ' || c == 0x7f) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\x%02x", c);
            out.append(esc);
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    out.push_back('"');
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
    std::lock_guard lock(m_mutex);
    // A failed log write has nowhere better to be reported; the request goes on.
    (void)std::fwrite(line.data(), 1, line.size(), m_out);
    (void)std::fflush(m_out);
}

} // namespace leadhook::obs
