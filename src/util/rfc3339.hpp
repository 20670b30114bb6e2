#pragma once
// RFC 3339 date-times, for key expiry in the config: parsed only with an
// explicit offset (a local time would depend on the server's time zone), and
// written in UTC so logs read the same everywhere.
#include "util/clock.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace leadhook {

/// A calendar date and time of day with a UTC offset, as written.
struct DateTimeParts {
    int year = 1970, month = 1, day = 1;
    int hour = 0, minute = 0, second = 0;
    int micros = 0;         ///< fraction of the second; finer digits are dropped
    int offset_minutes = 0; ///< east of UTC
};

/// The instant, or nullopt for an impossible date or time (Feb 30, 24:00,
/// leap seconds, years outside 1..9999, offsets beyond ±23:59).
std::optional<EpochMicros> to_epoch_micros(const DateTimeParts& parts);

/// "2026-12-31T00:00:00Z" or "2026-12-31T01:30:00.5+01:30" (T or t, Z or z).
/// nullopt for anything else, including a date-time without an offset.
std::optional<EpochMicros> parse_rfc3339(std::string_view text);

/// True when `text` is a date-time without an offset ("2026-12-31T00:00:00"),
/// so callers can say why it is refused.
bool is_local_date_time(std::string_view text);

/// UTC with a Z; fractional seconds only when there are some.
std::string format_rfc3339(EpochMicros t);

} // namespace leadhook
