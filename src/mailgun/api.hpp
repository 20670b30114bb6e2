#pragma once
// Mailgun's read APIs as values: the requests a backfill sends and what it
// reads from the answers. No I/O; net/ sends them, app/backfill drives them.
// Shapes (docs/backfill.md has the sources):
//   Logs API   POST {base}/v1/analytics/logs, JSON body with RFC 2822 start
//              and end, a domain filter, pagination {sort, limit <= 100,
//              token}; answer {items, pagination {next, ...}}; the last page
//              has no next.
//   Events API GET {base}/v3/{domain}/events?begin&end&ascending=yes&limit
//              (<= 300); answer {items, paging {next, ...}}; next is a URL;
//              a page without items ends it.
//   Suppressions GET {base}/v3/{domain}/{bounces|complaints|unsubscribes}?limit
//              (<= 1000); answer {items, paging {next, last}}; next == last
//              (or no items) ends it.
#include "mailgun/event.hpp"
#include "mailgun/payload.hpp"
#include "util/clock.hpp"
#include "util/expected.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook::mailgun::api {

enum class Source { logs, events };
std::string_view to_string(Source source);

/// Mailgun's US API; the EU one is https://api.eu.mailgun.net.
inline constexpr std::string_view us_base = "https://api.mailgun.net";

/// One request, as the HTTP layer will send it (with basic auth api:KEY).
struct Call {
    std::string method; ///< GET or POST
    std::string url;
    std::string json_body; ///< POST only
};

struct Range {
    EpochMicros begin = 0;
    EpochMicros end = 0; ///< exclusive
};

/// A page of events: the items as Mailgun sent them, and where the next
/// page is (a Logs pagination token, or an Events URL); nullopt: the last.
struct EventPage {
    std::vector<nlohmann::json> items;
    std::optional<std::string> next;
};

/// The first page's request (cursor nullopt) or a later one's.
Call events_call(Source source, std::string_view base, std::string_view domain, Range range,
                 const std::optional<std::string>& cursor);

/// Reads a page. `cursor` is the one this page was asked for: one that
/// comes back as `next` would loop, so it ends the range.
Expected<EventPage, std::string> parse_event_page(Source source, std::string_view body,
                                                  const std::optional<std::string>& cursor);

/// Whether `url` (a next page Mailgun named) is on `base`'s scheme, host and
/// port: the API key is sent with it, so it must go nowhere else.
bool same_origin(std::string_view url, std::string_view base);

/// An item of either API as the Event a webhook with that event-data would
/// give. Logs items differ: the time is "@timestamp" (RFC 3339, ms), user
/// variables a JSON string.
Expected<Event, Unprocessable> normalize_item(const nlohmann::json& item);

/// Whether a webhook could carry this Mailgun event name; the Logs API also
/// lists metric names (unique_opened, ...) and account events, skipped.
bool is_webhook_event(std::string_view mailgun_event);

enum class SuppressionList { bounces, complaints, unsubscribes };
std::string_view to_string(SuppressionList list);

struct Suppression {
    std::string address; ///< lower-cased, trimmed
    std::string reason;  ///< bounced, complained, unsubscribed (suppressions.reason)
    std::string detail;  ///< a bounce's code and error; empty otherwise
    std::optional<EpochMicros> created_at;
};

struct SuppressionPage {
    std::vector<Suppression> entries;
    std::size_t skipped = 0;         ///< items without an address
    std::optional<std::string> next; ///< a URL; nullopt: the last page
};

Call suppression_call(std::string_view base, std::string_view domain, SuppressionList list,
                      const std::optional<std::string>& next_url);
/// `fetched` is the URL this page was read from (nullopt: the first): one
/// that comes back as next would loop, so it ends the list.
Expected<SuppressionPage, std::string>
parse_suppression_page(SuppressionList list, std::string_view body,
                       const std::optional<std::string>& fetched = std::nullopt);

} // namespace leadhook::mailgun::api
