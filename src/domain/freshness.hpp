#pragma once
// Whether a signed timestamp is recent enough to accept. The window bounds
// how long a captured signature stays usable, and how long the token ledger
// must remember tokens.
#include "util/clock.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace leadhook::domain {

enum class Freshness { fresh, stale, future };

struct FreshnessPolicy {
    std::int64_t max_age_seconds = 86400; ///< 0: every age is accepted
    std::int64_t max_future_skew_seconds = 300;
};

/// `signed_at` is the parsed signature timestamp (nullopt: not whole Unix
/// seconds, which is stale even with the check off). `now` is when the
/// request arrived.
Freshness judge_freshness(std::optional<EpochMicros> signed_at, EpochMicros now,
                          const FreshnessPolicy& policy);

/// Ledger rows signed before this can be purged: their tokens are stale.
/// nullopt when the check is off, since then no token is ever stale.
std::optional<EpochMicros> ledger_horizon(EpochMicros now, const FreshnessPolicy& policy);

} // namespace leadhook::domain
