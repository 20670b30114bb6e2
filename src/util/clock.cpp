#include "util/clock.hpp"

namespace leadhook {

EpochMicros SystemClock::now() const {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace leadhook
