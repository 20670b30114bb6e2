#pragma once
// The schema migrations: the files of sql/, embedded in the binary at build
// time (src/storage/embed_migrations.cmake), so an installed leadhook needs
// no sql/ directory. Also the pure decisions about them: what `leadhook
// migrate` must apply, and whether a database's schema fits this build.
// Talking to PostgreSQL is pg_migrate's job.
#include "storage/event_store.hpp"
#include "util/expected.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook::storage {

struct Migration {
    int version;                 ///< the numeric prefix of the file name: 1 for 001_leads.sql
    std::string_view name;       ///< the file name, e.g. "001_leads.sql"
    std::string_view sql;        ///< the file's bytes, exactly
    std::string_view sha256_hex; ///< of those bytes, lower-case hex
};

/// sql/*.sql as built in, in ascending version order; versions are unique
/// (the build refuses otherwise).
std::span<const Migration> embedded_migrations();

/// The newest embedded version: what this build's queries expect.
int newest_migration_version(std::span<const Migration> migrations = embedded_migrations());

/// A row of leadhook_migrations.
struct AppliedMigration {
    int version = 0;
    std::string name;
    std::string checksum;
};

struct MigrationPlan {
    std::vector<const Migration*> pending; ///< not yet applied, in ascending version order
    int current_version = 0;               ///< the highest applied version; 0 for none
};

/// What to apply, given what the database has recorded. Refuses (with a
/// message naming the migration) when a recorded migration's checksum differs
/// from the embedded file, meaning someone edited an applied migration, or
/// when the database records a version below the newest that this build
/// does not have. Versions above the newest are a newer build's: accepted.
Expected<MigrationPlan, std::string> plan_migrations(std::span<const Migration> migrations,
                                                     std::span<const AppliedMigration> applied);

/// Readiness by schema version. `recorded` is max(version) in
/// leadhook_migrations (0 when it is empty), nullopt when the table does not
/// exist. Behind is not ready; ahead is ready, with the reason noted.
Readiness schema_readiness(std::optional<int> recorded, int needed);

} // namespace leadhook::storage
