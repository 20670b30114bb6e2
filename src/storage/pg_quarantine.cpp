#include "storage/pg_event_store.hpp"
#include "storage/pg_rows.hpp"

#include <array>

namespace leadhook::storage {
namespace {

// clang-format off
// Mailgun retries what we refused with 409, so the same body comes back:
// count it instead of storing it again.
constexpr const char* count_repeat =
    "UPDATE webhook_quarantine SET attempts = attempts + 1,"
    " last_seen_at = timestamptz 'epoch' + $3::bigint * interval '1 microsecond',"
    " reason = $4, detail = $5"
    " WHERE body_sha256 = $1::bytea AND path = $2 RETURNING id";

// Takes a slot in this hour's budget and stores the request in one
// statement, so concurrent processes cannot overshoot the cap.
// $10 body size, $11 hour start, $12 max requests, $13 max bytes.
constexpr const char* admit =
    "WITH slot AS (INSERT INTO webhook_quarantine_usage AS u (hour, stored, stored_bytes)"
    " SELECT timestamptz 'epoch' + $11::bigint * interval '1 microsecond', 1, $10::bigint"
    " WHERE $12::bigint > 0 AND $10::bigint <= $13::bigint"
    " ON CONFLICT (hour) DO UPDATE SET stored = u.stored + 1,"
    " stored_bytes = u.stored_bytes + excluded.stored_bytes"
    " WHERE u.stored < $12::bigint AND u.stored_bytes + excluded.stored_bytes <= $13::bigint"
    " RETURNING 1)"
    " INSERT INTO webhook_quarantine (received_at, last_seen_at, reason, detail, path,"
    " content_type, remote_addr, request_id, body, body_bytes, body_sha256)"
    " SELECT timestamptz 'epoch' + $3::bigint * interval '1 microsecond',"
    " timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4, $5, $2, $6, $7, $8,"
    " $9::bytea, $10::integer, $1::bytea FROM slot"
    " ON CONFLICT (body_sha256, path) DO NOTHING RETURNING id";

constexpr const char* count_dropped =
    "INSERT INTO webhook_quarantine_usage AS u (hour, dropped, dropped_bytes)"
    " VALUES (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', 1, $2::bigint)"
    " ON CONFLICT (hour) DO UPDATE SET dropped = u.dropped + 1,"
    " dropped_bytes = u.dropped_bytes + excluded.dropped_bytes"
    " RETURNING u.stored >= $3::bigint";
// clang-format on

constexpr EpochMicros micros_per_hour = 3'600'000'000LL;

/// Text as it came, for columns that must not be NULL.
PgParam raw(std::string_view value) {
    return text(value).value.value_or("");
}

} // namespace

Expected<Quarantined, StoreError> PgEventStore::quarantine(const QuarantineEntry& entry,
                                                           const QuarantineCap& cap) {
    const EpochMicros hour_start = entry.received_at / micros_per_hour * micros_per_hour;
    if (m_quarantine_full && m_quarantine_full->hour == hour_start &&
        m_quarantine_full->cap.max_requests == cap.max_requests &&
        m_quarantine_full->cap.max_bytes == cap.max_bytes) {
        // Known full this hour: a flood of unauthenticated requests must not
        // cost the database a write each. Only the metric counts these.
        return Quarantined::dropped;
    }
    if (auto error = m_conn.ensure_connected()) {
        return unexpected(*error);
    }
    const auto hash = bytea(entry.body_sha256);
    const auto seen = number(entry.received_at);
    auto repeated = m_conn.exec(count_repeat, std::array{hash, raw(entry.path), seen,
                                                         raw(entry.reason), raw(entry.detail)});
    if (!repeated) {
        return unexpected(repeated.error());
    }
    if (repeated->rows() > 0) {
        return Quarantined::repeated;
    }
    const auto size = number(static_cast<long long>(entry.body.size()));
    const auto hour = number(hour_start);
    auto admitted = m_conn.exec(admit, std::array{hash, raw(entry.path), seen, raw(entry.reason),
                                                  raw(entry.detail), raw(entry.content_type),
                                                  raw(entry.remote_addr), raw(entry.request_id),
                                                  bytea(entry.body), size, hour,
                                                  number(cap.max_requests), number(cap.max_bytes)});
    if (!admitted) {
        return unexpected(admitted.error());
    }
    if (admitted->rows() > 0) {
        return Quarantined::stored;
    }
    auto dropped = m_conn.exec(count_dropped, std::array{hour, size, number(cap.max_requests)});
    if (!dropped) {
        return unexpected(dropped.error());
    }
    // Full by count: nothing more fits this hour, so stop asking until the
    // hour (or the cap) changes. Full by bytes only: a smaller body may fit.
    if (dropped->rows() == 1 && dropped->text(0, 0) == "t") {
        m_quarantine_full = QuarantineFull{hour_start, cap};
    }
    return Quarantined::dropped;
}

} // namespace leadhook::storage
