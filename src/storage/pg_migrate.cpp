#include "storage/pg_migrate.hpp"

#include "storage/pg_rows.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

namespace leadhook::storage {
namespace {

// clang-format off
constexpr const char* create_table =
    "CREATE TABLE IF NOT EXISTS leadhook_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"          // SHA-256 of the file, lower-case hex
    " applied_at timestamptz NOT NULL DEFAULT now())";
constexpr const char* list_applied =
    "SELECT version, name, checksum FROM leadhook_migrations ORDER BY version";
constexpr const char* record_applied =
    "INSERT INTO leadhook_migrations (version, name, checksum, applied_at)"
    " VALUES ($1::integer, $2, $3, now())";
constexpr const char* newest_recorded =
    "SELECT coalesce(max(version), 0) FROM leadhook_migrations";
constexpr const char* try_lock = "SELECT pg_try_advisory_lock($1::bigint)";
constexpr const char* lock = "SELECT pg_advisory_lock($1::bigint)";
constexpr const char* unlock = "SELECT pg_advisory_unlock($1::bigint)";
// A migration may rewrite a large table, and waiting for the lock may take
// as long as another process's migration: no statement_timeout here. The
// NOTICEs of re-run IF NOT EXISTS statements are noise.
constexpr const char* session_settings =
    "SELECT set_config('statement_timeout', '0', false),"
    " set_config('client_min_messages', 'warning', false)";
// leadhook's tables live in the schema it creates them in, the first on the
// search_path. A leads table only elsewhere is the original app's, loaded
// into a schema of its own (pgloader names it after the MySQL database, and
// puts it second on the database's search_path): leadhook would create an
// empty leads table in front of it and match no lead. Rows: the schema, and
// the leads tables in other schemas (NULL: none, or leads is here).
constexpr const char* leads_elsewhere =
    "SELECT current_schema(), (SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ')"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relname = 'leads' AND c.relkind IN ('r', 'p')"
    " AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'"
    " AND NOT EXISTS (SELECT 1 FROM pg_class h JOIN pg_namespace hn ON hn.oid = h.relnamespace"
    " WHERE h.relname = 'leads' AND hn.nspname = current_schema()))";
// clang-format on

constexpr const char* in_recovery = "SELECT pg_is_in_recovery()";

constexpr std::string_view undefined_table = "42P01";

std::string describe(const StoreError& error) {
    return error.message + (error.sqlstate.empty() ? "" : " [SQLSTATE " + error.sqlstate + "]");
}

int to_int(std::string_view text) {
    int value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

/// Holds the migration lock for its lifetime. If unlocking fails the
/// connection is closed, which releases a session lock just the same.
class MigrationLock {
  public:
    explicit MigrationLock(PgConnection& conn) : m_conn(conn) {}
    MigrationLock(const MigrationLock&) = delete;
    MigrationLock& operator=(const MigrationLock&) = delete;
    ~MigrationLock() {
        if (m_held && (!m_conn.is_connected() ||
                       !m_conn.exec(unlock, std::array{number(migration_lock_key)}))) {
            m_conn.drop();
        }
    }

    std::optional<StoreError> acquire(const MigrateHooks& hooks) {
        const std::array key{number(migration_lock_key)};
        auto tried = m_conn.exec(try_lock, key);
        if (!tried) {
            return tried.error();
        }
        if (tried->text(0, 0) != "t") {
            if (hooks.waiting) {
                hooks.waiting();
            }
            if (auto waited = m_conn.exec(lock, key); !waited) {
                return waited.error();
            }
        }
        m_held = true;
        return std::nullopt;
    }

  private:
    PgConnection& m_conn;
    bool m_held = false;
};

Expected<std::vector<AppliedMigration>, StoreError> read_applied(PgConnection& conn) {
    if (auto created = conn.exec(create_table); !created) {
        return unexpected(created.error());
    }
    auto rows = conn.exec(list_applied);
    if (!rows) {
        return unexpected(rows.error());
    }
    std::vector<AppliedMigration> applied;
    for (int row = 0; row < rows->rows(); ++row) {
        applied.push_back(AppliedMigration{to_int(rows->text(row, 0)),
                                           std::string(rows->text(row, 1)),
                                           std::string(rows->text(row, 2))});
    }
    return applied;
}

/// One migration and its leadhook_migrations row in one transaction.
std::optional<StoreError> apply_one(PgConnection& conn, const Migration& migration) {
    if (auto begun = conn.exec("BEGIN"); !begun) {
        return begun.error();
    }
    auto error = conn.exec_script(std::string(migration.sql));
    if (!error) {
        const std::array row{number(migration.version), text(migration.name),
                             text(migration.sha256_hex)};
        if (auto recorded = conn.exec(record_applied, row); !recorded) {
            error = recorded.error();
        } else if (auto committed = conn.exec("COMMIT"); !committed) {
            return committed.error(); // a failed COMMIT ends the transaction itself
        }
    }
    if (error && conn.is_connected() && !conn.exec("ROLLBACK")) {
        conn.drop();
    }
    return error;
}

/// Refuses a database whose leads table is not where leadhook would look.
std::optional<std::string> check_leads_schema(PgConnection& conn) {
    auto found = conn.exec(leads_elsewhere);
    if (!found) {
        return "cannot look for the leads table: " + describe(found.error());
    }
    if (found->rows() == 0 || found->is_null(0, 1)) {
        return std::nullopt;
    }
    const std::string schema(found->text(0, 0));
    const std::string others(found->text(0, 1));
    return "no leads table in schema " + schema + ", where leadhook keeps its tables (the " +
           "first on the search_path), but " + others + " exists: leadhook would create an " +
           "empty leads table and match no lead. Move the original app's tables into " + schema +
           " (ALTER TABLE ... SET SCHEMA " + schema + ", or pgloader's ALTER SCHEMA ... RENAME " +
           "TO '" + schema + "'), or put their schema first on the search_path of the " +
           "database URL (options=-c search_path=...); see docs/migrating.md";
}

Expected<Migrated, std::string> migrate_locked(PgConnection& conn,
                                               std::span<const Migration> migrations,
                                               const MigrateHooks& hooks) {
    if (auto misplaced = check_leads_schema(conn)) {
        return unexpected(*misplaced); // before anything is created
    }
    auto applied = read_applied(conn);
    if (!applied) {
        return unexpected("cannot read leadhook_migrations: " + describe(applied.error()));
    }
    auto plan = plan_migrations(migrations, *applied);
    if (!plan) {
        return unexpected(plan.error());
    }
    Migrated done{plan->current_version, 0};
    for (const Migration* migration : plan->pending) {
        if (auto error = apply_one(conn, *migration)) {
            return unexpected("migration " + std::to_string(migration->version) + " (" +
                              std::string(migration->name) + ") failed: " + describe(*error));
        }
        done.version = std::max(done.version, migration->version);
        ++done.applied;
        if (hooks.applied) {
            hooks.applied(*migration);
        }
    }
    return done;
}

} // namespace

Expected<Migrated, std::string> migrate(PgConnection& conn, std::span<const Migration> migrations,
                                        const MigrateHooks& hooks) {
    if (auto error = conn.ensure_connected()) {
        return unexpected("cannot connect: " + describe(*error));
    }
    if (auto set = conn.exec(session_settings); !set) {
        return unexpected("cannot prepare the session: " + describe(set.error()));
    }
    auto standby = is_standby(conn);
    if (!standby || *standby) {
        return unexpected("refusing to migrate: " +
                          (standby ? std::string(on_a_standby) : describe(standby.error())));
    }
    MigrationLock held(conn);
    if (auto error = held.acquire(hooks)) {
        return unexpected("cannot take the migration lock: " + describe(*error));
    }
    return migrate_locked(conn, migrations, hooks);
}

Expected<std::optional<int>, StoreError> recorded_schema_version(PgConnection& conn) {
    auto newest = conn.exec(newest_recorded);
    if (!newest) {
        if (newest.error().sqlstate == undefined_table) {
            return std::optional<int>{};
        }
        return unexpected(newest.error());
    }
    return std::optional<int>{to_int(newest->text(0, 0))};
}

Expected<bool, StoreError> is_standby(PgConnection& conn) {
    auto answer = conn.exec(in_recovery);
    if (!answer) {
        return unexpected(answer.error());
    }
    return answer->text(0, 0) == "t";
}

} // namespace leadhook::storage
