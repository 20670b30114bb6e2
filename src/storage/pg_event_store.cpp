#include "storage/pg_event_store.hpp"

#include "storage/pg_migrate.hpp"
#include "storage/pg_rows.hpp"

#include <array>
#include <chrono>
#include <string>

namespace leadhook::storage {
namespace {

// The month partitions an event and its payload go to (sql/005).
constexpr const char* ensure_partitions =
    "SELECT leadhook_ensure_month_partition('lead_email_events',"
    " timestamptz 'epoch' + $1::bigint * interval '1 microsecond'),"
    " leadhook_ensure_month_partition('lead_email_event_payloads',"
    " timestamptz 'epoch' + $2::bigint * interval '1 microsecond')";

/// "no partition of relation found for row": its month does not exist.
constexpr std::string_view no_partition = "23514";

/// Months since 1970-01 (UTC) of a time: which month partition it goes to.
int month_index(EpochMicros t) {
    using namespace std::chrono;
    const year_month_day day{floor<days>(sys_time<microseconds>(microseconds(t)))};
    return (static_cast<int>(day.year()) - 1970) * 12 + static_cast<int>(unsigned(day.month())) - 1;
}

} // namespace

Expected<Recorded, StoreError> PgEventStore::record(const EventRecord& record) {
    const EventRecord* one = &record;
    return std::move(record_batch(std::span(&one, 1)).front());
}

BatchResults PgEventStore::record_batch(std::span<const EventRecord* const> records) {
    auto written = write_with_retries(records);
    if (written) {
        return std::move(*written);
    }
    if (written.error().kind == StoreFailure::internal && records.size() > 1) {
        // One event the database refuses must not fail the others with it
        // (nor, since Mailgun retries them together, for eight hours).
        BatchResults results;
        results.reserve(records.size());
        for (const EventRecord* record : records) {
            results.push_back(record_batch(std::span(&record, 1)).front());
        }
        return results;
    }
    return BatchResults(records.size(), unexpected(written.error()));
}

Expected<BatchResults, StoreError>
PgEventStore::write_with_retries(std::span<const EventRecord* const> records) {
    for (int attempt = 0;; ++attempt) {
        const bool had_connection = m_conn.is_connected();
        if (auto error = m_conn.ensure_connected()) {
            return unexpected(*error);
        }
        m_commit_sent = false;
        auto result = write_batch(records);
        if (!result && result.error().sqlstate == no_partition && attempt == 0) {
            // `leadhook purge` dropped a month this worker had seen: make it
            // again (the event is older than the event retention, and will
            // be purged with its month once more). 23514 is also a CHECK
            // violation; that fails the same way again and is returned.
            m_event_months.clear();
            m_payload_months.clear();
            continue;
        }
        if (result || result.error().kind != StoreFailure::unavailable) {
            return result;
        }
        // A connection made before this batch may have died with a
        // restarted server.
        // Before COMMIT nothing can have been written, so one retry on a new
        // connection is safe; after it the outcome is unknown, and Mailgun's
        // retry of the 503 meets the token ledger, which answers it.
        if (!had_connection || attempt > 0 || m_commit_sent) {
            return result;
        }
        m_conn.drop();
    }
}

/// Outside any transaction: creating a partition locks the whole table, which
/// must not be held until the batch commits. Once per month per connection.
std::optional<StoreError>
PgEventStore::ensure_partitions_for(std::span<const EventRecord* const> records) {
    for (const EventRecord* record : records) {
        const int event_month = month_index(record->event_time);
        const int arrival_month = month_index(record->received_at);
        if (m_event_months.contains(event_month) && m_payload_months.contains(arrival_month)) {
            continue;
        }
        auto ensured = m_conn.exec(
            ensure_partitions, std::array{number(record->event_time), number(record->received_at)});
        if (!ensured) {
            return ensured.error();
        }
        m_event_months.insert(event_month);
        m_payload_months.insert(arrival_month);
    }
    return std::nullopt;
}

StoreError PgEventStore::rollback_with(StoreError error) {
    // Idle: no transaction is open (a COMMIT that went through, answered
    // with a warning), and a ROLLBACK would only earn another warning.
    if (m_conn.is_connected() && !m_conn.is_idle() && !m_conn.exec("ROLLBACK")) {
        m_conn.drop();
    }
    return error;
}

Readiness PgEventStore::readiness() {
    // A connection made before a database restart fails its first query;
    // like record(), try once more on a new one before saying "unreachable".
    for (int attempt = 0;; ++attempt) {
        const bool had_connection = m_conn.is_connected();
        if (auto error = m_conn.ensure_connected()) {
            return Readiness{false, m_conn.found_only_standbys()
                                        ? "no writable primary: the servers reached are read-only"
                                        : "database unreachable"};
        }
        // Between requests the connection is idle; should a transaction ever
        // be left open, a failing query would abort it, so leave it alone.
        if (!m_conn.is_idle()) {
            return Readiness{false, "database connection busy in a transaction"};
        }
        auto version = recorded_schema_version(m_conn);
        if (version) {
            auto standby = is_standby(m_conn);
            if (standby && *standby) {
                return Readiness{false, std::string("no writable primary: ") + on_a_standby};
            }
            return schema_readiness(*version, newest_migration_version());
        }
        if (version.error().kind != StoreFailure::unavailable) {
            return Readiness{false, "cannot read leadhook_migrations (SQLSTATE " +
                                        version.error().sqlstate + ")"};
        }
        if (!had_connection || attempt > 0) {
            return Readiness{false, "database unreachable"};
        }
        m_conn.drop();
    }
}

} // namespace leadhook::storage
