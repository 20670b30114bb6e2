#pragma once
// The PostgreSQL EventStore: one transaction per webhook that claims its
// token in the ledger, locks the matching lead, appends the event row and
// applies the lead-state rules; and the bounded quarantine.
#include "storage/event_store.hpp"
#include "storage/pg.hpp"

#include <set>
#include <string>

namespace leadhook::storage {

class PgEventStore final : public EventStore {
  public:
    explicit PgEventStore(std::string conninfo, const Clock& clock = wall_clock())
        : m_conn(std::move(conninfo), clock) {}

    Expected<Recorded, StoreError> record(const EventRecord& record) override;
    Expected<Quarantined, StoreError> quarantine(const QuarantineEntry& entry,
                                                 const QuarantineCap& cap) override;
    /// Ready when reachable and leadhook_migrations is at this build's
    /// version or newer. One query, never inside a transaction.
    Readiness readiness() override;

    /// Connects now rather than on the first request; nullopt when reachable.
    std::optional<StoreError> connect() { return m_conn.ensure_connected(); }

    /// Reconnects after a lost connection or failed connect; any thread.
    std::uint64_t reconnects() const override { return m_conn.reconnects(); }

  private:
    std::optional<StoreError> ensure_partitions_for(const EventRecord& record);
    Expected<Recorded, StoreError> record_once(const EventRecord& record);
    Expected<Recorded, StoreError> seen_token(const EventRecord& record);
    Expected<Recorded, StoreError> link_duplicate_event(const EventRecord& record);
    Expected<Recorded, StoreError> commit_with(Recorded recorded);
    Expected<Recorded, StoreError> rollback_with(Expected<Recorded, StoreError> result);

    /// The hour this worker found the quarantine full, under which cap.
    struct QuarantineFull {
        EpochMicros hour;
        QuarantineCap cap;
    };

    PgConnection m_conn;
    bool m_commit_sent = false; ///< whether the last attempt got as far as COMMIT
    std::optional<QuarantineFull> m_quarantine_full;
    /// Months (since 1970-01) known to have an event / payload partition.
    std::set<int> m_event_months;
    std::set<int> m_payload_months;
};

} // namespace leadhook::storage
