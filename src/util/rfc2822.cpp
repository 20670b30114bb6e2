#include "util/rfc2822.hpp"

#include "util/rfc3339.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <vector>

namespace leadhook {
namespace {

constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> day_names{"Thu", "Fri", "Sat", "Sun",
                                                    "Mon", "Tue", "Wed"}; // 1970-01-01: Thu

std::vector<std::string_view> words(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto start = text.find_first_not_of(" \t", pos);
        if (start == std::string_view::npos) {
            break;
        }
        const auto end = std::min(text.find_first_of(" \t", start), text.size());
        out.push_back(text.substr(start, end - start));
        pos = end;
    }
    return out;
}

std::optional<int> number(std::string_view text, std::size_t min_digits, std::size_t max_digits) {
    int value = 0;
    if (text.size() < min_digits || text.size() > max_digits ||
        std::from_chars(text.data(), text.data() + text.size(), value).ptr !=
            text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<int> zone_minutes(std::string_view zone) {
    if (zone == "GMT" || zone == "UTC" || zone == "UT" || zone == "Z") {
        return 0;
    }
    if (zone.size() != 5 || (zone[0] != '+' && zone[0] != '-')) {
        return std::nullopt;
    }
    const auto hours = number(zone.substr(1, 2), 2, 2), minutes = number(zone.substr(3, 2), 2, 2);
    if (!hours || !minutes || *minutes > 59) {
        return std::nullopt;
    }
    const int offset = *hours * 60 + *minutes;
    return zone[0] == '-' ? -offset : offset;
}

/// "hh:mm" or "hh:mm:ss" into parts.
bool read_time(std::string_view text, DateTimeParts& parts) {
    const auto h = number(text.substr(0, 2), 2, 2);
    if (!h || text.size() < 5 || text[2] != ':') {
        return false;
    }
    const auto m = number(text.substr(3, 2), 2, 2);
    std::optional<int> s = 0;
    if (text.size() == 8 && text[5] == ':') {
        s = number(text.substr(6, 2), 2, 2);
    } else if (text.size() != 5) {
        return false;
    }
    if (!m || !s) {
        return false;
    }
    parts.hour = *h;
    parts.minute = *m;
    parts.second = *s;
    return true;
}

} // namespace

std::optional<EpochMicros> parse_rfc2822(std::string_view text) {
    auto w = words(text);
    if (!w.empty() && w.front().size() == 4 && w.front().back() == ',') {
        w.erase(w.begin()); // the day name
    }
    if (w.size() != 5) {
        return std::nullopt;
    }
    DateTimeParts parts;
    const auto day = number(w[0], 1, 2), year = number(w[2], 4, 4);
    std::size_t month = 0;
    while (month < month_names.size() && month_names[month] != w[1]) {
        ++month;
    }
    const auto offset = zone_minutes(w[4]);
    if (!day || !year || month == month_names.size() || !offset || !read_time(w[3], parts)) {
        return std::nullopt;
    }
    parts.year = *year;
    parts.month = static_cast<int>(month) + 1;
    parts.day = *day;
    parts.offset_minutes = *offset;
    return to_epoch_micros(parts);
}

std::string format_rfc2822(EpochMicros t) {
    using namespace std::chrono;
    const sys_seconds at{floor<seconds>(microseconds{t})};
    const auto days = floor<std::chrono::days>(at);
    const year_month_day ymd{days};
    const hh_mm_ss time{at - days};
    const auto weekday = ((days.time_since_epoch().count() % 7) + 7) % 7;
    char out[40];
    std::snprintf(
        out, sizeof out, "%.3s, %02u %.3s %04d %02d:%02d:%02d +0000",
        day_names[static_cast<std::size_t>(weekday)].data(), static_cast<unsigned>(ymd.day()),
        month_names[static_cast<unsigned>(ymd.month()) - 1].data(), static_cast<int>(ymd.year()),
        static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
        static_cast<int>(time.seconds().count()));
    return out;
}

} // namespace leadhook
