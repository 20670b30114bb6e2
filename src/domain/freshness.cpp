#include "domain/freshness.hpp"

namespace leadhook::domain {
namespace {

constexpr EpochMicros micros_per_second = 1'000'000;
/// Kept past the window so a clock step on this host or the database's
/// cannot purge a token that is still acceptable.
constexpr EpochMicros ledger_margin = 3600 * micros_per_second;

} // namespace

Freshness judge_freshness(std::optional<EpochMicros> signed_at, EpochMicros now,
                          const FreshnessPolicy& policy) {
    if (!signed_at) {
        return Freshness::stale; // a shape Mailgun never signs, whatever the window
    }
    if (policy.max_age_seconds <= 0) {
        return Freshness::fresh;
    }
    if (now - *signed_at > policy.max_age_seconds * micros_per_second) {
        return Freshness::stale;
    }
    if (*signed_at - now > policy.max_future_skew_seconds * micros_per_second) {
        return Freshness::future;
    }
    return Freshness::fresh;
}

std::optional<EpochMicros> ledger_horizon(EpochMicros now, const FreshnessPolicy& policy) {
    if (policy.max_age_seconds <= 0) {
        return std::nullopt;
    }
    return now - policy.max_age_seconds * micros_per_second - ledger_margin;
}

} // namespace leadhook::domain
