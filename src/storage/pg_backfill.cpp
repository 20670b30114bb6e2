#include "storage/pg_backfill.hpp"

#include "storage/migrations.hpp"
#include "storage/pg_migrate.hpp"
#include "storage/pg_rows.hpp"

#include <array>
#include <map>

namespace leadhook::storage {
namespace {

// clang-format off
#define LEADHOOK_AT(p) "(timestamptz 'epoch' + " p "::bigint * interval '1 microsecond')"

// $1 domain, $2 api, $3 begin, $4 end (NULL: the newest unfinished range).
constexpr const char* select_checkpoint =
    "SELECT cursor, pages, fetched, stored, duplicate, skipped, finished_at IS NOT NULL,"
    " (extract(epoch from end_at) * 1000000)::bigint"
    " FROM backfill_checkpoints WHERE domain = $1 AND api = $2 AND begin_at = " LEADHOOK_AT("$3")
    " AND (end_at = " LEADHOOK_AT("$4") " OR ($4 IS NULL AND finished_at IS NULL))"
    " ORDER BY updated_at DESC LIMIT 1";

// $1 domain, $2 api, $3 begin, $4 end, $5 cursor, $6..$10 counts, $11 now, $12 finished.
constexpr const char* upsert_checkpoint =
    "INSERT INTO backfill_checkpoints (domain, api, begin_at, end_at, cursor, pages, fetched,"
    " stored, duplicate, skipped, started_at, updated_at, finished_at)"
    " VALUES ($1, $2, " LEADHOOK_AT("$3") ", " LEADHOOK_AT("$4") ", $5, $6, $7, $8, $9, $10,"
    " " LEADHOOK_AT("$11") ", " LEADHOOK_AT("$11") ","
    " CASE WHEN $12 THEN " LEADHOOK_AT("$11") " END)"
    " ON CONFLICT (domain, api, begin_at, end_at) DO UPDATE SET cursor = excluded.cursor,"
    " started_at = CASE WHEN excluded.pages = 0 THEN excluded.started_at"
    " ELSE backfill_checkpoints.started_at END,"
    " pages = excluded.pages, fetched = excluded.fetched, stored = excluded.stored,"
    " duplicate = excluded.duplicate, skipped = excluded.skipped,"
    " updated_at = excluded.updated_at, finished_at = excluded.finished_at";

// $1 domain, $2 begin, $3 end. The domain each event names (domain.name, or
// the envelope sender's); the event log is partitioned by event_time.
constexpr const char* select_held =
    "SELECT to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD'), event_type, count(*)"
    " FROM lead_email_events WHERE lower(domain) = lower($1)"
    " AND event_time >= " LEADHOOK_AT("$2") " AND event_time < " LEADHOOK_AT("$3")
    " GROUP BY 1, 2 ORDER BY 1, 2";

constexpr PgColumn suppression_columns[] = {{"address", PgType::text}, {"reason", PgType::text},
                                            {"detail", PgType::text}, {"since", PgType::int8}};
// A list entry widens a row already there (an earlier first_at wins, with
// its detail); xmax = 0 tells a new row from an updated one.
const std::string import_suppressions_sql =
    "INSERT INTO suppressions (address, reason, detail, first_at, last_at, source)"
    " SELECT address, reason, coalesce(detail, ''), " LEADHOOK_AT("since") ","
    " " LEADHOOK_AT("since") ", 'mailgun_list'"
    " FROM " + unnest_sql(suppression_columns, "s") + " ORDER BY address, reason"
    " ON CONFLICT (address, reason) DO UPDATE SET"
    " detail = CASE WHEN excluded.first_at < suppressions.first_at"
    " THEN excluded.detail ELSE suppressions.detail END,"
    " first_at = least(suppressions.first_at, excluded.first_at),"
    " last_at = greatest(suppressions.last_at, excluded.last_at)"
    " RETURNING xmax = 0";
#undef LEADHOOK_AT
// clang-format on

} // namespace

std::optional<std::string> PgBackfillStore::check_schema() {
    if (auto error = m_conn.ensure_connected()) {
        return "cannot reach the database: " + error->message;
    }
    auto standby = is_standby(m_conn);
    if (!standby) {
        return "cannot read the database: " + standby.error().message;
    }
    if (*standby) {
        return on_a_standby;
    }
    auto version = recorded_schema_version(m_conn);
    if (!version) {
        return "cannot read the schema version: " + version.error().message;
    }
    const int wanted = newest_migration_version();
    if (!*version || **version < wanted) {
        return "the database schema is at version " + std::to_string(version->value_or(0)) +
               ", this leadhook needs " + std::to_string(wanted) + ": run `leadhook migrate`";
    }
    return std::nullopt;
}

Expected<std::optional<Checkpoint>, StoreError>
PgBackfillStore::find_checkpoint(const BackfillKey& key) {
    const std::array params{PgParam{key.domain}, PgParam{key.api}, number(key.begin),
                            key.end != 0 ? number(key.end) : PgParam{}};
    auto result = m_conn.exec(select_checkpoint, params);
    if (!result) {
        return unexpected(std::move(result).error());
    }
    if (result->rows() == 0) {
        return std::optional<Checkpoint>{};
    }
    Checkpoint found{key, std::nullopt, {}, result->text(0, 6) == "t"};
    if (!result->is_null(0, 0)) {
        found.cursor = std::string(result->text(0, 0));
    }
    found.counts = {integer_at(*result, 0, 1), integer_at(*result, 0, 2), integer_at(*result, 0, 3),
                    integer_at(*result, 0, 4), integer_at(*result, 0, 5)};
    found.key.end = integer_at(*result, 0, 7);
    return std::optional<Checkpoint>{std::move(found)};
}

std::optional<StoreError> PgBackfillStore::save_checkpoint(const Checkpoint& checkpoint,
                                                           EpochMicros now) {
    const auto& k = checkpoint.key;
    const auto& c = checkpoint.counts;
    const std::array params{PgParam{k.domain},
                            PgParam{k.api},
                            number(k.begin),
                            number(k.end),
                            checkpoint.cursor ? PgParam{*checkpoint.cursor} : PgParam{},
                            number(c.pages),
                            number(c.fetched),
                            number(c.stored),
                            number(c.duplicate),
                            number(c.skipped),
                            number(now),
                            PgParam{checkpoint.finished ? "true" : "false"}};
    auto result = m_conn.exec(upsert_checkpoint, params);
    return result ? std::nullopt : std::optional(std::move(result).error());
}

Expected<std::vector<bool>, StoreError>
PgBackfillStore::held_events(std::span<const mailgun::Event> events) {
    std::vector<bool> held(events.size(), false);
    PgColumns rows = held_rows();
    for (std::size_t i = 0; i < events.size(); ++i) {
        const auto& e = events[i];
        rows.int4("i", static_cast<std::int32_t>(i))
            .text("mailgun_event_id", e.mailgun_event_id)
            .text("event_type", mailgun::to_string(e.type))
            .int8("event_time", e.event_time)
            .text("message_id", e.message_id)
            .text("recipient", e.recipient)
            .end_row();
    }
    if (rows.empty()) {
        return held;
    }
    auto result = m_conn.exec(find_held_events, rows.finish());
    if (!result) {
        return unexpected(std::move(result).error());
    }
    for (int row = 0; row < result->rows(); ++row) {
        const auto i = static_cast<std::size_t>(integer_at(*result, row, 0));
        if (i < held.size()) {
            held[i] = true;
        }
    }
    return held;
}

Expected<std::vector<HeldCount>, StoreError> PgBackfillStore::held_counts(const BackfillKey& key) {
    const std::array params{PgParam{key.domain}, number(key.begin), number(key.end)};
    auto result = m_conn.exec(select_held, params);
    if (!result) {
        return unexpected(std::move(result).error());
    }
    std::vector<HeldCount> counts;
    for (int row = 0; row < result->rows(); ++row) {
        counts.push_back({std::string(result->text(row, 0)), std::string(result->text(row, 1)),
                          integer_at(*result, row, 2)});
    }
    return counts;
}

Expected<SuppressionsImported, StoreError>
PgBackfillStore::import_suppressions(std::span<const ListedSuppression> entries) {
    // One row per address and reason: ON CONFLICT may touch a row only once.
    std::map<std::pair<std::string, std::string>, const ListedSuppression*> unique;
    for (const auto& entry : entries) {
        auto [it, added] = unique.try_emplace({entry.address, entry.reason}, &entry);
        if (!added && entry.since < it->second->since) {
            it->second = &entry;
        }
    }
    PgColumns rows(suppression_columns);
    for (const auto& [key, entry] : unique) {
        rows.text("address", entry->address)
            .text("reason", entry->reason)
            .text("detail", entry->detail)
            .int8("since", entry->since)
            .end_row();
    }
    SuppressionsImported imported;
    if (rows.empty()) {
        return imported;
    }
    const PgStatement statement{"leadhook_import_suppressions", import_suppressions_sql.c_str()};
    auto result = m_conn.exec(statement, rows.finish());
    if (!result) {
        return unexpected(std::move(result).error());
    }
    for (int row = 0; row < result->rows(); ++row) {
        ++(result->text(row, 0) == "t" ? imported.added : imported.unchanged);
    }
    return imported;
}

} // namespace leadhook::storage
