#include "storage/migrations.hpp"

#include <algorithm>

namespace leadhook::storage {
namespace {

const Migration* find_version(std::span<const Migration> migrations, int version) {
    const auto it = std::find_if(migrations.begin(), migrations.end(),
                                 [&](const Migration& m) { return m.version == version; });
    return it == migrations.end() ? nullptr : &*it;
}

bool recorded(std::span<const AppliedMigration> applied, int version) {
    return std::any_of(applied.begin(), applied.end(),
                       [&](const AppliedMigration& a) { return a.version == version; });
}

/// Why a recorded migration does not fit this build, or nullopt.
std::optional<std::string> conflict(std::span<const Migration> migrations,
                                    const AppliedMigration& row) {
    const Migration* built_in = find_version(migrations, row.version);
    const std::string version = std::to_string(row.version);
    if (!built_in) {
        if (row.version > newest_migration_version(migrations)) {
            return std::nullopt; // a newer build's migration
        }
        return "the database records migration " + version + " (" + row.name +
               "), which this build does not have: was a migration file removed or renumbered?";
    }
    if (row.checksum != built_in->sha256_hex) {
        return "migration " + version + " (" + std::string(built_in->name) +
               ") was changed after it was applied: the database recorded checksum " +
               row.checksum + " for " + row.name + ", this build's file has " +
               std::string(built_in->sha256_hex) +
               "; restore the applied file and put the change in a new migration";
    }
    return std::nullopt;
}

} // namespace

int newest_migration_version(std::span<const Migration> migrations) {
    return migrations.empty() ? 0 : migrations.back().version;
}

Expected<MigrationPlan, std::string> plan_migrations(std::span<const Migration> migrations,
                                                     std::span<const AppliedMigration> applied) {
    MigrationPlan plan;
    for (const auto& row : applied) {
        if (auto problem = conflict(migrations, row)) {
            return unexpected(*problem);
        }
        plan.current_version = std::max(plan.current_version, row.version);
    }
    for (const auto& migration : migrations) {
        if (!recorded(applied, migration.version)) {
            plan.pending.push_back(&migration);
        }
    }
    return plan;
}

Readiness schema_readiness(std::optional<int> recorded_version, int needed) {
    const std::string run = " (run leadhook migrate)";
    if (!recorded_version) {
        return Readiness{false, "no migrations table" + run};
    }
    const std::string at = "at version " + std::to_string(*recorded_version);
    if (*recorded_version < needed) {
        return Readiness{false, "schema behind: " + at + ", this build needs " +
                                    std::to_string(needed) + run};
    }
    if (*recorded_version > needed) {
        // Migrations only add (IF NOT EXISTS, ADD COLUMN), so an older build
        // works on a newer schema: during a rolling upgrade the old instances
        // keep serving instead of all leaving the load balancer at once.
        return Readiness{true, "schema ahead: " + at + ", this build knows up to " +
                                   std::to_string(needed)};
    }
    return Readiness{true, "ok"};
}

} // namespace leadhook::storage
