#include "obs/log.hpp"

#include <cstdio>

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

void Logger::write(std::string_view level, std::initializer_list<LogField> fields) {
    const std::string line = format_logfmt(m_clock.now(), level, fields);
    std::lock_guard lock(m_mutex);
    // A failed log write has nowhere better to be reported; the request goes on.
    (void)std::fwrite(line.data(), 1, line.size(), m_out);
    (void)std::fflush(m_out);
}

} // namespace leadhook::obs
