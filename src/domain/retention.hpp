#pragma once
// What a purge removes, as cut-off times computed from "now" and the
// configured retention. Pure, so the calendar arithmetic is tested without a
// database; storage::PgMaintenance carries the plan out.
#include "domain/freshness.hpp"
#include "util/clock.hpp"

#include <optional>

namespace leadhook::domain {

struct Retention {
    int quarantine_days = 30;
    int payload_days = 30;
    int event_months = 0; ///< 0: the event log is kept for ever
};

struct PurgePlan {
    EpochMicros now = 0; ///< partitions for this month and the next are made ahead
    /// Ledger tokens signed before it (nullopt when the freshness check is off:
    /// then no token is ever stale, and all are kept).
    std::optional<EpochMicros> tokens_before;
    EpochMicros quarantine_before = 0; ///< quarantine rows last seen before it
    EpochMicros payloads_before = 0;   ///< payloads that arrived before it
    /// Event-log months that end at or before it are dropped whole; nullopt:
    /// kept for ever.
    std::optional<EpochMicros> events_before;
};

PurgePlan purge_plan(EpochMicros now, const FreshnessPolicy& freshness, const Retention& retention);

/// `months` calendar months before `t` (UTC), the day clamped to the end of a
/// shorter month: 31 March minus one month is 28 or 29 February.
EpochMicros months_before(EpochMicros t, int months);

} // namespace leadhook::domain
