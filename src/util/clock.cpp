#include "util/clock.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace leadhook {

std::optional<EpochMicros> parse_epoch_seconds(std::string_view text) {
    long long seconds = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, seconds);
    if (ec != std::errc{} || ptr != end || seconds < 0 || seconds > 100000000000LL) {
        return std::nullopt;
    }
    return seconds * 1000000;
}

std::string format_utc(EpochMicros ts) {
    const std::time_t seconds = static_cast<std::time_t>(ts / 1000000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buf[96];
    const auto micros = static_cast<long>(((ts % 1000000) + 1000000) % 1000000);
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, micros);
    return buf;
}

EpochMicros SystemClock::now() const {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace leadhook
