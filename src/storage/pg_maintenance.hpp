#pragma once
// Housekeeping on its own connection: purging what has outlived its use, and
// reading the quarantine back for `leadhook reverify`.
#include "storage/pg.hpp"
#include "storage/quarantine.hpp"

#include <string>

namespace leadhook::storage {

struct Purged {
    long long tokens = 0;
    long long quarantined = 0;
};

class PgMaintenance final : public QuarantineLog {
  public:
    explicit PgMaintenance(std::string conninfo) : m_conn(std::move(conninfo)) {}

    /// Ledger rows signed before `tokens_before` (outside the freshness
    /// window, so their tokens are refused as stale anyway), and quarantine
    /// rows last seen before `quarantine_before`. Deletes in batches so no
    /// single statement holds locks for long.
    Expected<Purged, StoreError> purge(std::optional<EpochMicros> tokens_before,
                                       EpochMicros quarantine_before);

    Expected<std::vector<QuarantinedRequest>, StoreError> list(std::int64_t after_id,
                                                               int limit) override;
    Expected<bool, StoreError> remove(std::int64_t id) override;

  private:
    Expected<long long, StoreError> delete_in_batches(const char* sql, EpochMicros before);

    PgConnection m_conn;
};

} // namespace leadhook::storage
