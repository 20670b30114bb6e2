#include "util/clock.hpp"

#include <charconv>

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

EpochMicros SystemClock::now() const {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace leadhook
