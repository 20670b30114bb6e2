#pragma once
// `leadhook migrate` against PostgreSQL: applies the embedded migrations that
// leadhook_migrations does not record yet, each in its own transaction, under
// an advisory lock so that any number of processes may migrate at once. Also
// the one-query schema version check behind readiness.
#include "storage/migrations.hpp"
#include "storage/pg.hpp"

#include <functional>
#include <optional>
#include <span>
#include <string>

namespace leadhook::storage {

/// The pg_advisory_lock key that serialises migrations across processes and
/// hosts sharing a database: "leadhook" in ASCII, 7810756212620750699.
inline constexpr long long migration_lock_key = 0x6c656164686f6f6b;

struct MigrateHooks {
    std::function<void()> waiting;                 ///< another process holds the lock
    std::function<void(const Migration&)> applied; ///< one migration committed
};

struct Migrated {
    int version = 0; ///< the highest version recorded now
    int applied = 0; ///< how many this run applied
};

/// Connects if needed, takes the lock (waiting for it without a statement
/// timeout: a migration may take long), creates leadhook_migrations if
/// missing, refuses a recorded migration whose checksum differs from the
/// embedded file, then applies and records what is missing, in version
/// order. A failed migration is rolled back; those before it stay applied.
/// The error names the migration and carries the server's message and hint.
Expected<Migrated, std::string> migrate(PgConnection& conn, std::span<const Migration> migrations,
                                        const MigrateHooks& hooks);

/// max(version) in leadhook_migrations, 0 when it is empty, nullopt when the
/// table does not exist. One query; the caller must be connected and idle
/// (outside a transaction, which a missing table's error would abort).
Expected<std::optional<int>, StoreError> recorded_schema_version(PgConnection& conn);

/// Whether the server is a standby (pg_is_in_recovery()): read-only, so
/// leadhook writes nothing there. One query; the caller must be connected.
Expected<bool, StoreError> is_standby(PgConnection& conn);

/// What a standby answers for a migration, a purge or readiness.
inline constexpr const char* on_a_standby =
    "the server is a read-only standby (in recovery), not the primary: list every node in the "
    "connection string with target_session_attrs=read-write (docs/ha.md)";

} // namespace leadhook::storage
