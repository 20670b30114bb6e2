#pragma once
// Lead follow-up reports as plain values: the rows storage reads for the
// three reports (leads, daily, suppress) and the filters that select them.
// No SQL and no I/O here; storage/pg_report reads, report/* renders.
#include "util/clock.hpp"
#include "util/expected.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook::report {

constexpr EpochMicros micros_per_day = 86400LL * 1000000;

/// Half-open [from, to), UTC; an absent end is unbounded.
struct DateRange {
    std::optional<EpochMicros> from;
    std::optional<EpochMicros> to;
};

struct Filters {
    DateRange range;
    std::optional<std::string> status; ///< a lead status (see lead_statuses), or "none"
    std::optional<std::string> domain; ///< the address's domain, lower-case
};

/// One lead and its follow-up state (the `leads` table, by its own names).
struct LeadRow {
    std::int64_t id = 0;
    std::string email;
    std::string status; ///< the newest event's type; "none" before any
    std::optional<EpochMicros> sent_at;
    bool delivered = false;
    long long opens = 0;
    long long clicks = 0;
    bool bounced = false;
    bool dropped = false;
    bool complained = false;
    bool unsubscribed = false;
    bool opted_out = false;
    std::optional<EpochMicros> last_update;
};

/// Events of one type on one UTC day.
struct DailyCount {
    std::string day; ///< YYYY-MM-DD
    std::string event_type;
    long long count = 0;
};

/// An address that must not be emailed again (docs/reports.md, "The suppress list").
struct SuppressRow {
    std::string email;  ///< lower-cased
    std::string reason; ///< bounced, dropped, rejected, complained, unsubscribed, opted out
    std::string detail; ///< code and message of a failure; may be empty
    std::optional<EpochMicros> since;
    std::string reasons; ///< every reason on record, comma-separated, alphabetical
};

/// Every normalised event type, in the order charts stack them (bottom first).
constexpr std::array<std::string_view, 12> event_types{
    "delivered", "opened",   "clicked",  "unsubscribed", "complained", "bounced",
    "dropped",   "deferred", "rejected", "accepted",     "stored",     "unknown"};

/// The statuses a lead can have (the newest event that sets one), and "none".
constexpr std::array<std::string_view, 10> lead_statuses{
    "delivered", "opened",  "clicked",  "unsubscribed", "complained",
    "bounced",   "dropped", "deferred", "rejected",     "none"};

/// Position of `type` in event_types; unknown names sort last.
std::size_t event_type_rank(std::string_view type);

/// "2026-11-29" to that day's midnight UTC; nullopt for anything else.
std::optional<EpochMicros> parse_day(std::string_view text);
/// The UTC day of `t` as "YYYY-MM-DD".
std::string format_day(EpochMicros t);
/// Midnight UTC at or before `t`.
EpochMicros start_of_day(EpochMicros t);

/// The options of `leadhook report` as typed on the command line.
struct FilterArgs {
    std::optional<std::string> from{}, to{}, status{}, domain{};
};

/// Validated filters: dates must be YYYY-MM-DD with from < to, the status one
/// of lead_statuses, the domain a bare domain (no @); the error says which.
Expected<Filters, std::string> parse_filters(const FilterArgs& args);

/// `range` with its open ends closed for a chart: an absent `to` is the day
/// after `now`'s day (or the day after `from`, if that is later), an
/// absent `from` is `days` days before `to`.
DateRange closed_range(const DateRange& range, EpochMicros now, int days = 30);

/// The days of a closed range, as "YYYY-MM-DD", oldest first.
std::vector<std::string> days_of(const DateRange& closed);

} // namespace leadhook::report
