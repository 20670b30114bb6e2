#include "storage/pg_event_store.hpp"

#include "storage/pg_migrate.hpp"
#include "storage/pg_rows.hpp"

#include <array>
#include <chrono>
#include <string>

namespace leadhook::storage {
namespace {

// clang-format off
// Claims the token for this transaction. A concurrent claim of the same token
// waits here until the first commits (then this returns no row) or aborts.
constexpr const char* claim_token =
    "INSERT INTO webhook_tokens (token, body_sha256, signed_at, received_at, key_label)"
    " VALUES ($1, $2::bytea, timestamptz 'epoch' + $3::bigint * interval '1 microsecond',"
    " timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5)"
    " ON CONFLICT (token) DO NOTHING RETURNING 1";

constexpr const char* ledger_entry =
    "SELECT body_sha256 = $2::bytea, lead_id FROM webhook_tokens WHERE token = $1";

// The event row, unless this Mailgun event (id, timestamp) is already stored,
// and its payload in the table with the shorter retention; the token's ledger
// row learns which event and lead it produced.
constexpr const char* insert_event =
    "WITH event AS (INSERT INTO lead_email_events (lead_id, event_type, mailgun_event,"
    " severity, reason, recipient, message_id, mailgun_event_id, event_time, received_at,"
    " domain, ip, country, region, city, device_type, client_type, client_name, client_os,"
    " user_agent, bot, url, code, error, description, tags, user_variables, token, signature,"
    " body_format, route, signing_key_label) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
    " timestamptz 'epoch' + $9::bigint * interval '1 microsecond',"
    " timestamptz 'epoch' + $10::bigint * interval '1 microsecond',"
    " $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25,"
    " ARRAY(SELECT jsonb_array_elements_text($26::jsonb)), $27::jsonb, $28, $29, $30, $31, $33)"
    " ON CONFLICT (mailgun_event_id, event_time) WHERE mailgun_event_id IS NOT NULL DO NOTHING"
    " RETURNING id, lead_id, event_time, received_at),"
    " payload AS (INSERT INTO lead_email_event_payloads (event_id, event_time, received_at,"
    " payload) SELECT id, event_time, received_at, $32::jsonb FROM event)"
    " UPDATE webhook_tokens t SET event_id = event.id, lead_id = event.lead_id FROM event"
    " WHERE t.token = $28 RETURNING event.id";

// The month partitions the event and its payload go to (sql/005).
constexpr const char* ensure_partitions =
    "SELECT leadhook_ensure_month_partition('lead_email_events',"
    " timestamptz 'epoch' + $1::bigint * interval '1 microsecond'),"
    " leadhook_ensure_month_partition('lead_email_event_payloads',"
    " timestamptz 'epoch' + $2::bigint * interval '1 microsecond')";

// A second delivery of a stored Mailgun event: the new token points at the
// original, so a retry of this request is answered the same way.
constexpr const char* link_to_original =
    "WITH original AS (SELECT id, lead_id FROM lead_email_events WHERE mailgun_event_id = $2"
    " AND event_time = timestamptz 'epoch' + $3::bigint * interval '1 microsecond')"
    " UPDATE webhook_tokens t SET event_id = original.id, lead_id = original.lead_id"
    " FROM original WHERE t.token = $1 RETURNING original.lead_id";
// clang-format on

/// "no partition of relation found for row": its month does not exist.
constexpr std::string_view no_partition = "23514";

/// Months since 1970-01 (UTC) of a time: which month partition it goes to.
int month_index(EpochMicros t) {
    using namespace std::chrono;
    const year_month_day day{floor<days>(sys_time<microseconds>(microseconds(t)))};
    return (static_cast<int>(day.year()) - 1970) * 12 + static_cast<int>(unsigned(day.month())) - 1;
}

std::optional<std::int64_t> lead_id_at(const PgResult& r, int row, int col) {
    if (r.rows() <= row || r.is_null(row, col)) {
        return std::nullopt;
    }
    return std::stoll(std::string(r.text(row, col)));
}

} // namespace

Expected<Recorded, StoreError> PgEventStore::record(const EventRecord& record) {
    for (int attempt = 0;; ++attempt) {
        const bool had_connection = m_conn.is_connected();
        if (auto error = m_conn.ensure_connected()) {
            return unexpected(*error);
        }
        m_commit_sent = false;
        auto result = record_once(record);
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
        // A connection made before this request may have died with a
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
/// must not be held until this event commits. Once per month per worker.
std::optional<StoreError> PgEventStore::ensure_partitions_for(const EventRecord& record) {
    const int event_month = month_index(record.event_time);
    const int arrival_month = month_index(record.received_at);
    if (m_event_months.contains(event_month) && m_payload_months.contains(arrival_month)) {
        return std::nullopt;
    }
    auto ensured = m_conn.exec(ensure_partitions,
                               std::array{number(record.event_time), number(record.received_at)});
    if (!ensured) {
        return ensured.error();
    }
    m_event_months.insert(event_month);
    m_payload_months.insert(arrival_month);
    return std::nullopt;
}

Expected<Recorded, StoreError> PgEventStore::rollback_with(Expected<Recorded, StoreError> result) {
    if (m_conn.is_connected() && !m_conn.exec("ROLLBACK")) {
        m_conn.drop();
    }
    return result;
}

Expected<Recorded, StoreError> PgEventStore::commit_with(Recorded recorded) {
    m_commit_sent = true;
    if (auto committed = m_conn.exec("COMMIT"); !committed) {
        return rollback_with(unexpected(committed.error()));
    }
    return recorded;
}

Expected<Recorded, StoreError> PgEventStore::record_once(const EventRecord& record) {
    if (auto error = ensure_partitions_for(record)) {
        return unexpected(*error);
    }
    if (auto begun = m_conn.exec("BEGIN"); !begun) {
        return unexpected(begun.error());
    }
    const auto token = text(record.token);
    const auto hash = bytea(record.body_sha256);
    auto claimed =
        m_conn.exec(claim_token, std::array{token, hash, number(record.signed_at),
                                            number(record.received_at), text(record.key_label)});
    if (!claimed) {
        return rollback_with(unexpected(claimed.error()));
    }
    if (claimed->rows() == 0) {
        return rollback_with(seen_token(record));
    }
    auto found = find_lead(m_conn, record.event);
    if (!found) {
        return rollback_with(unexpected(found.error()));
    }
    const auto& lead_row = *found;
    const auto lead_id = lead_row ? lead_id_at(*lead_row, 0, 0) : std::nullopt;
    auto inserted = m_conn.exec(insert_event, event_params(record, lead_id));
    if (!inserted) {
        return rollback_with(unexpected(inserted.error()));
    }
    if (inserted->rows() == 0) {
        return link_duplicate_event(record);
    }
    if (lead_row) {
        app::LeadState lead = read_lead(*lead_row);
        if (app::apply_event(lead, record.event, record.event_time, record.received_at)) {
            if (auto updated = m_conn.exec(update_lead, lead_params(*lead_id, lead)); !updated) {
                return rollback_with(unexpected(updated.error()));
            }
        }
    }
    return commit_with(Recorded{RecordStatus::stored, lead_id});
}

/// The token is in the ledger already: the same body is a duplicate,
/// another body a forgery. Either way nothing is written.
Expected<Recorded, StoreError> PgEventStore::seen_token(const EventRecord& record) {
    auto entry =
        m_conn.exec(ledger_entry, std::array{text(record.token), bytea(record.body_sha256)});
    if (!entry) {
        return unexpected(entry.error());
    }
    if (entry->rows() == 0) {
        // Purged between our claim and this read: only possible for a token
        // older than the freshness window, which the handler refuses first.
        return unexpected(StoreError{StoreFailure::internal, "", "ledger row vanished"});
    }
    const bool same_body = entry->text(0, 0) == "t";
    return Recorded{same_body ? RecordStatus::duplicate : RecordStatus::forgery,
                    same_body ? lead_id_at(*entry, 0, 1) : std::nullopt};
}

/// This Mailgun event is stored already under another token. The new token
/// is kept (bound to its body) so that it cannot be reused with another.
Expected<Recorded, StoreError> PgEventStore::link_duplicate_event(const EventRecord& record) {
    auto linked = m_conn.exec(link_to_original,
                              std::array{text(record.token), text(record.event.mailgun_event_id),
                                         number(record.event_time)});
    if (!linked) {
        return rollback_with(unexpected(linked.error()));
    }
    return commit_with(Recorded{RecordStatus::duplicate, lead_id_at(*linked, 0, 0)});
}

Readiness PgEventStore::readiness() {
    // A connection made before a database restart fails its first query;
    // like record(), try once more on a new one before saying "unreachable".
    for (int attempt = 0;; ++attempt) {
        const bool had_connection = m_conn.is_connected();
        if (auto error = m_conn.ensure_connected()) {
            return Readiness{false, "database unreachable"};
        }
        // Between requests the connection is idle; should a transaction ever
        // be left open, a failing query would abort it, so leave it alone.
        if (!m_conn.is_idle()) {
            return Readiness{false, "database connection busy in a transaction"};
        }
        auto version = recorded_schema_version(m_conn);
        if (version) {
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
