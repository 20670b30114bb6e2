#include "util/backoff.hpp"

#include <algorithm>

namespace leadhook {

bool Backoff::may_try(EpochMicros now) const {
    if (m_failures == 0 || now >= m_retry_at) {
        return true;
    }
    return m_retry_at - now > m_policy.max_wait;
}

void Backoff::failed(EpochMicros now, double jitter) {
    if (m_failures < 1'000'000) { // only ever compared, never allowed to overflow
        ++m_failures;
    }
    m_retry_at = now + shortened_by_jitter(wait_after(m_failures), jitter);
}

bool Backoff::succeeded() {
    const bool recovered = m_failures > 0;
    m_failures = 0;
    m_retry_at = 0;
    return recovered;
}

EpochMicros shortened_by_jitter(EpochMicros wait, double jitter) {
    return static_cast<EpochMicros>(static_cast<double>(wait) *
                                    (1.0 - 0.25 * std::clamp(jitter, 0.0, 1.0)));
}

EpochMicros Backoff::wait_after(int failures) const {
    if (failures <= m_policy.free_failures) {
        return 0;
    }
    EpochMicros wait = m_policy.first_wait;
    for (int n = m_policy.free_failures + 1; n < failures && wait < m_policy.max_wait; ++n) {
        wait *= 2;
    }
    return std::min(wait, m_policy.max_wait);
}

} // namespace leadhook
