#pragma once
// Housekeeping on its own connection: purging what has outlived its use, and
// reading the quarantine back for `leadhook reverify`.
#include "domain/retention.hpp"
#include "storage/pg.hpp"
#include "storage/quarantine.hpp"

#include <string>
#include <vector>

namespace leadhook::storage {

struct DroppedPartition {
    std::string name;
    long long estimated_rows = -1; ///< the planner's estimate; -1: never analysed
};

/// What a purge removed, or with dry_run would remove.
struct Purged {
    bool skipped = false; ///< another purge held the lock; nothing was done
    long long tokens = 0;
    long long quarantined = 0;
    std::vector<DroppedPartition> payload_partitions; ///< wholly past retention
    long long payload_rows = 0;                       ///< the rest, deleted row by row
    std::vector<DroppedPartition> event_partitions;
};

class PgMaintenance final : public QuarantineLog {
  public:
    explicit PgMaintenance(std::string conninfo) : m_conn(std::move(conninfo)) {}

    /// Carries out `plan` (see domain::PurgePlan): deletes ledger, quarantine
    /// and payload rows in batches so no statement holds locks for long,
    /// drops payload and event-log months wholly past retention, and makes
    /// this month's and next month's partitions ahead of the writers. One
    /// purge at a time across every process (an advisory lock): a second
    /// returns `skipped`. With dry_run it counts and lists, and changes
    /// nothing.
    Expected<Purged, StoreError> purge(const domain::PurgePlan& plan, bool dry_run = false);

    Expected<std::vector<QuarantinedRequest>, StoreError> list(std::int64_t after_id,
                                                               int limit) override;
    Expected<bool, StoreError> remove(std::int64_t id) override;

  private:
    Expected<long long, StoreError> delete_in_batches(const char* sql, EpochMicros before);
    Expected<long long, StoreError> count(const char* sql, EpochMicros before);
    Expected<std::vector<DroppedPartition>, StoreError>
    partitions(const char* sql, const char* table, EpochMicros before);
    Expected<Purged, StoreError> purge_locked(const domain::PurgePlan& plan, bool dry_run);

    PgConnection m_conn;
};

} // namespace leadhook::storage
