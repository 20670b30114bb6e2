#include "util/rfc3339.hpp"

#include <chrono>
#include <cstdio>

namespace leadhook {
namespace {

constexpr EpochMicros micros_per_second = 1000000;

/// `count` decimal digits at `pos`, or nullopt.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t count) {
    if (pos + count > text.size()) {
        return std::nullopt;
    }
    int value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        if (text[i] < '0' || text[i] > '9') {
            return std::nullopt;
        }
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

bool separator_at(std::string_view text, std::size_t pos, std::string_view allowed) {
    return pos < text.size() && allowed.find(text[pos]) != std::string_view::npos;
}

/// Reads "YYYY-MM-DDThh:mm:ss[.frac]"; returns where the offset would start.
std::optional<std::size_t> read_local(std::string_view text, DateTimeParts& parts) {
    const auto year = digits(text, 0, 4), month = digits(text, 5, 2), day = digits(text, 8, 2);
    const auto hour = digits(text, 11, 2), minute = digits(text, 14, 2);
    const auto second = digits(text, 17, 2);
    if (!year || !month || !day || !hour || !minute || !second || !separator_at(text, 4, "-") ||
        !separator_at(text, 7, "-") || !separator_at(text, 10, "Tt") ||
        !separator_at(text, 13, ":") || !separator_at(text, 16, ":")) {
        return std::nullopt;
    }
    parts = DateTimeParts{*year, *month, *day, *hour, *minute, *second, 0, 0};
    std::size_t pos = 19;
    if (!separator_at(text, pos, ".")) {
        return pos;
    }
    const std::size_t first_digit = ++pos;
    int scale = 100000;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
        parts.micros += (text[pos] - '0') * scale; // digits past micros add 0
        scale /= 10;
    }
    return pos > first_digit ? std::optional<std::size_t>(pos) : std::nullopt;
}

/// "Z", "z" or "±hh:mm", and nothing after it.
std::optional<int> read_offset(std::string_view rest) {
    if (rest == "Z" || rest == "z") {
        return 0;
    }
    const auto hours = digits(rest, 1, 2), minutes = digits(rest, 4, 2);
    if (rest.size() != 6 || !separator_at(rest, 0, "+-") || !separator_at(rest, 3, ":") || !hours ||
        !minutes || *minutes > 59) {
        return std::nullopt;
    }
    const int offset = *hours * 60 + *minutes;
    return rest[0] == '-' ? -offset : offset;
}

} // namespace

std::optional<EpochMicros> to_epoch_micros(const DateTimeParts& p) {
    using namespace std::chrono;
    const year_month_day date{year{p.year}, month{static_cast<unsigned>(p.month)},
                              day{static_cast<unsigned>(p.day)}};
    if (p.year < 1 || p.year > 9999 || !date.ok() || p.hour < 0 || p.hour > 23 || p.minute < 0 ||
        p.minute > 59 || p.second < 0 || p.second > 59 || p.micros < 0 || p.micros > 999999 ||
        p.offset_minutes <= -24 * 60 || p.offset_minutes >= 24 * 60) {
        return std::nullopt;
    }
    const EpochMicros days_since_epoch = sys_days{date}.time_since_epoch().count();
    const EpochMicros seconds =
        days_since_epoch * 86400 + p.hour * 3600 + p.minute * 60 + p.second - p.offset_minutes * 60;
    return seconds * micros_per_second + p.micros;
}

std::optional<EpochMicros> parse_rfc3339(std::string_view text) {
    DateTimeParts parts;
    const auto offset_at = read_local(text, parts);
    if (!offset_at) {
        return std::nullopt;
    }
    const auto offset = read_offset(text.substr(*offset_at));
    if (!offset) {
        return std::nullopt;
    }
    parts.offset_minutes = *offset;
    return to_epoch_micros(parts);
}

bool is_local_date_time(std::string_view text) {
    DateTimeParts parts;
    const auto end = read_local(text, parts);
    return end && *end == text.size() && to_epoch_micros(parts).has_value();
}

std::string format_rfc3339(EpochMicros t) {
    using namespace std::chrono;
    const sys_time<microseconds> instant{microseconds{t}};
    const sys_days date = floor<days>(instant);
    const year_month_day ymd{date};
    const long long in_day = (instant - date).count(); // micros since midnight, >= 0
    const long long secs = in_day / micros_per_second, frac = in_day % micros_per_second;
    char text[40];
    int n = std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02lld:%02lld:%02lld",
                          static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                          static_cast<unsigned>(ymd.day()), secs / 3600, secs / 60 % 60, secs % 60);
    if (frac != 0) {
        n += std::snprintf(text + n, sizeof text - static_cast<std::size_t>(n), ".%06lld", frac);
    }
    return std::string(text, static_cast<std::size_t>(n)) + "Z";
}

} // namespace leadhook
