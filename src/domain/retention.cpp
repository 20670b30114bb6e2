#include "domain/retention.hpp"

#include <chrono>

namespace leadhook::domain {
namespace {

constexpr EpochMicros micros_per_day = 86'400'000'000LL;

} // namespace

EpochMicros months_before(EpochMicros t, int months) {
    using namespace std::chrono;
    const sys_time<microseconds> at{microseconds(t)};
    const auto day = floor<days>(at);
    const auto time_of_day = at - day;
    year_month_day ymd{day};
    ymd -= std::chrono::months(months);
    if (!ymd.ok()) {
        ymd = ymd.year() / ymd.month() / last;
    }
    return (sys_days(ymd) + time_of_day).time_since_epoch().count();
}

PurgePlan purge_plan(EpochMicros now, const FreshnessPolicy& freshness,
                     const Retention& retention) {
    return PurgePlan{
        .now = now,
        .tokens_before = ledger_horizon(now, freshness),
        .quarantine_before = now - retention.quarantine_days * micros_per_day,
        .payloads_before = now - retention.payload_days * micros_per_day,
        .events_before = retention.event_months == 0
                             ? std::nullopt
                             : std::optional(months_before(now, retention.event_months)),
    };
}

} // namespace leadhook::domain
