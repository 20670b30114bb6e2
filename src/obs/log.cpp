#include "obs/log.hpp"

#include <ctime>

namespace leadhook::obs {
namespace {

std::string iso8601(EpochMicros ts) {
    const std::time_t seconds = static_cast<std::time_t>(ts / 1000000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buf[96];
    const auto micros = static_cast<long>(((ts % 1000000) + 1000000) % 1000000);
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, micros);
    return buf;
}

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
    std::string line = "ts=" + iso8601(ts) + " level=";
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
