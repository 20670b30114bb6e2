#pragma once
// RFC 2822 / HTTP dates ("Fri, 21 Oct 2011 11:02:55 GMT"): what Mailgun's
// APIs write and take (Events API begin/end, the Logs API's start/end,
// suppression lists' created_at) and what Retry-After may carry.
#include "util/clock.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace leadhook {

/// "[Day, ]DD Mon YYYY hh:mm[:ss] ZONE" with ZONE one of GMT, UTC, UT, Z or
/// ±hhmm; the day name, when present, is not checked against the date.
/// nullopt for anything else.
std::optional<EpochMicros> parse_rfc2822(std::string_view text);

/// "Fri, 21 Oct 2011 11:02:55 +0000" (whole seconds, UTC).
std::string format_rfc2822(EpochMicros t);

} // namespace leadhook
