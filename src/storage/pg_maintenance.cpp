#include "storage/pg_maintenance.hpp"

#include "storage/pg_migrate.hpp"
#include "storage/pg_rows.hpp"
#include "util/hex.hpp"

#include <array>

namespace leadhook::storage {
namespace {

constexpr long long batch_rows = 5000;
/// One purge at a time, across processes ("leadpurg"); migrations use their own.
constexpr long long purge_lock_key = 0x6c65616470757267;

// clang-format off
// $1 cut-off (epoch micros), $2 batch size. Each returns the rows it deleted.
constexpr const char* purge_tokens =
    "DELETE FROM webhook_tokens WHERE token IN (SELECT token FROM webhook_tokens"
    " WHERE signed_at < timestamptz 'epoch' + $1::bigint * interval '1 microsecond'"
    " LIMIT $2::bigint)";
constexpr const char* purge_quarantine =
    "DELETE FROM webhook_quarantine WHERE id IN (SELECT id FROM webhook_quarantine"
    " WHERE last_seen_at < timestamptz 'epoch' + $1::bigint * interval '1 microsecond'"
    " LIMIT $2::bigint)";
constexpr const char* purge_usage =
    "DELETE FROM webhook_quarantine_usage WHERE hour IN (SELECT hour FROM"
    " webhook_quarantine_usage WHERE hour < timestamptz 'epoch' + $1::bigint * interval"
    " '1 microsecond' LIMIT $2::bigint)";

constexpr const char* purge_payloads =
    "DELETE FROM lead_email_event_payloads WHERE (event_id, received_at) IN (SELECT event_id,"
    " received_at FROM lead_email_event_payloads WHERE received_at < timestamptz 'epoch' +"
    " $1::bigint * interval '1 microsecond' LIMIT $2::bigint)";

// --dry-run: $1 cut-off. Payload rows to delete are those outside the
// partitions that go whole.
constexpr const char* count_tokens =
    "SELECT count(*) FROM webhook_tokens"
    " WHERE signed_at < timestamptz 'epoch' + $1::bigint * interval '1 microsecond'";
constexpr const char* count_quarantine =
    "SELECT count(*) FROM webhook_quarantine"
    " WHERE last_seen_at < timestamptz 'epoch' + $1::bigint * interval '1 microsecond'";
constexpr const char* count_payloads =
    "SELECT count(*) FROM lead_email_event_payloads"
    " WHERE received_at < timestamptz 'epoch' + $1::bigint * interval '1 microsecond'"
    " AND tableoid NOT IN (SELECT child::regclass FROM leadhook_partitions_before("
    " 'lead_email_event_payloads', timestamptz 'epoch' + $1::bigint * interval '1 microsecond'))";

// Month partitions (sql/005): $1 the table, $2 the cut-off.
constexpr const char* list_partitions =
    "SELECT child, estimated_rows FROM leadhook_partitions_before($1::regclass,"
    " timestamptz 'epoch' + $2::bigint * interval '1 microsecond')";
constexpr const char* drop_partitions =
    "SELECT dropped, estimated_rows FROM leadhook_drop_partitions_before($1::regclass,"
    " timestamptz 'epoch' + $2::bigint * interval '1 microsecond')";
constexpr const char* make_partitions_ahead =
    "SELECT leadhook_ensure_month_partition(parent, timestamptz 'epoch' + $1::bigint *"
    " interval '1 microsecond' + ahead * interval '1 month') FROM unnest(ARRAY["
    "'lead_email_events', 'lead_email_event_payloads']::regclass[]) parent,"
    " generate_series(0, 1) ahead";

constexpr const char* try_purge_lock = "SELECT pg_try_advisory_lock($1::bigint)";
constexpr const char* purge_unlock = "SELECT pg_advisory_unlock($1::bigint)";

constexpr const char* list_quarantine =
    "SELECT id, (extract(epoch from received_at) * 1000000)::bigint, attempts, reason, path,"
    " content_type, remote_addr, request_id, encode(body, 'hex') FROM webhook_quarantine"
    " WHERE id > $1::bigint ORDER BY id LIMIT $2::integer";
constexpr const char* remove_quarantined = "DELETE FROM webhook_quarantine WHERE id = $1::bigint";
// clang-format on

QuarantinedRequest read_quarantined(const PgResult& r, int row) {
    auto str = [&](int col) { return std::string(r.text(row, col)); };
    const auto body = from_hex(r.text(row, 8));
    return QuarantinedRequest{integer_at(r, row, 0),
                              integer_at(r, row, 1),
                              static_cast<int>(integer_at(r, row, 2)),
                              str(3),
                              str(4),
                              str(5),
                              str(6),
                              str(7),
                              body ? std::string(body->begin(), body->end()) : std::string{}};
}

/// Stores a result, or returns why there is none.
template <class T> std::optional<StoreError> assign(Expected<T, StoreError> result, T& into) {
    if (!result) {
        return std::move(result).error();
    }
    into = std::move(result).value();
    return std::nullopt;
}

} // namespace

Expected<long long, StoreError> PgMaintenance::delete_in_batches(const char* sql,
                                                                 EpochMicros before) {
    long long total = 0;
    for (;;) {
        auto deleted = m_conn.exec(sql, std::array{number(before), number(batch_rows)});
        if (!deleted) {
            return unexpected(deleted.error());
        }
        const long long n = deleted->affected();
        total += n;
        if (n < batch_rows) {
            return total;
        }
    }
}

Expected<long long, StoreError> PgMaintenance::count(const char* sql, EpochMicros before) {
    auto counted = m_conn.exec(sql, std::array{number(before)});
    if (!counted) {
        return unexpected(counted.error());
    }
    return integer_at(*counted, 0, 0);
}

Expected<std::vector<DroppedPartition>, StoreError>
PgMaintenance::partitions(const char* sql, const char* table, EpochMicros before) {
    auto rows = m_conn.exec(sql, std::array{text(table), number(before)});
    if (!rows) {
        return unexpected(rows.error());
    }
    std::vector<DroppedPartition> out;
    for (int row = 0; row < rows->rows(); ++row) {
        out.push_back({std::string(rows->text(row, 0)), integer_at(*rows, row, 1)});
    }
    return out;
}

Expected<Purged, StoreError> PgMaintenance::purge(const domain::PurgePlan& plan, bool dry_run) {
    if (auto error = m_conn.ensure_connected()) {
        return unexpected(*error);
    }
    auto standby = is_standby(m_conn);
    if (!standby) {
        return unexpected(standby.error());
    }
    if (*standby) {
        return unexpected(StoreError{StoreFailure::unavailable, "",
                                     std::string("refusing to purge: ") + on_a_standby});
    }
    auto locked = m_conn.exec(try_purge_lock, std::array{number(purge_lock_key)});
    if (!locked) {
        return unexpected(locked.error());
    }
    if (locked->text(0, 0) != "t") {
        Purged skipped;
        skipped.skipped = true;
        return skipped;
    }
    auto purged = purge_locked(plan, dry_run);
    if (m_conn.is_connected() && !m_conn.exec(purge_unlock, std::array{number(purge_lock_key)})) {
        m_conn.drop(); // a closed session releases the lock as well
    }
    return purged;
}

Expected<Purged, StoreError> PgMaintenance::purge_locked(const domain::PurgePlan& plan,
                                                         bool dry_run) {
    const auto rows = [&](const char* sql, const char* count_sql, EpochMicros before) {
        return dry_run ? count(count_sql, before) : delete_in_batches(sql, before);
    };
    const char* const partition_sql = dry_run ? list_partitions : drop_partitions;
    Purged purged;
    if (!dry_run) {
        // Writers make a missing month themselves, but then under a table lock
        // on the hot path; ahead of time it is one quiet statement.
        if (auto made = m_conn.exec(make_partitions_ahead, std::array{number(plan.now)}); !made) {
            return unexpected(made.error());
        }
    }
    if (plan.tokens_before) {
        if (auto e = assign(rows(purge_tokens, count_tokens, *plan.tokens_before), purged.tokens)) {
            return unexpected(*e);
        }
    }
    if (auto e = assign(rows(purge_quarantine, count_quarantine, plan.quarantine_before),
                        purged.quarantined)) {
        return unexpected(*e);
    }
    if (long long usage_rows = 0; !dry_run) {
        if (auto e = assign(delete_in_batches(purge_usage, plan.quarantine_before), usage_rows)) {
            return unexpected(*e);
        }
    }
    if (auto e =
            assign(partitions(partition_sql, "lead_email_event_payloads", plan.payloads_before),
                   purged.payload_partitions)) {
        return unexpected(*e);
    }
    if (auto e = assign(rows(purge_payloads, count_payloads, plan.payloads_before),
                        purged.payload_rows)) {
        return unexpected(*e);
    }
    if (plan.events_before) {
        if (auto e = assign(partitions(partition_sql, "lead_email_events", *plan.events_before),
                            purged.event_partitions)) {
            return unexpected(*e);
        }
    }
    return purged;
}

Expected<std::vector<QuarantinedRequest>, StoreError> PgMaintenance::list(std::int64_t after_id,
                                                                          int limit) {
    if (auto error = m_conn.ensure_connected()) {
        return unexpected(*error);
    }
    auto rows = m_conn.exec(list_quarantine, std::array{number(after_id), number(limit)});
    if (!rows) {
        return unexpected(rows.error());
    }
    std::vector<QuarantinedRequest> out;
    for (int row = 0; row < rows->rows(); ++row) {
        out.push_back(read_quarantined(*rows, row));
    }
    return out;
}

Expected<bool, StoreError> PgMaintenance::remove(std::int64_t id) {
    if (auto error = m_conn.ensure_connected()) {
        return unexpected(*error);
    }
    auto deleted = m_conn.exec(remove_quarantined, std::array{number(id)});
    if (!deleted) {
        return unexpected(deleted.error());
    }
    return deleted->affected() > 0;
}

} // namespace leadhook::storage
