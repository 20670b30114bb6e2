#pragma once
// The PostgreSQL EventStore: writes a batch of webhooks in one transaction
// that locks the matching leads, claims their tokens in the ledger, appends
// the event rows and applies the lead-state rules (pg_event_batch.cpp); and
// the bounded quarantine. A BatchWriter's writer threads each own one.
#include "storage/batch_writer.hpp"
#include "storage/event_store.hpp"
#include "storage/pg.hpp"

#include <set>
#include <span>
#include <string>

namespace leadhook::storage {

class PgEventStore final : public EventStore, public BatchSink {
  public:
    explicit PgEventStore(std::string conninfo, const Clock& clock = wall_clock())
        : m_conn(std::move(conninfo), clock) {}

    /// A batch of one, on this store's own connection.
    Expected<Recorded, StoreError> record(const EventRecord& record) override;
    /// One transaction for the whole batch. A transient failure answers
    /// every record with it; a permanent one (a row the database refuses)
    /// writes the records one by one, so that only the bad one fails.
    BatchResults record_batch(std::span<const EventRecord* const> records) override;
    Expected<Quarantined, StoreError> quarantine(const QuarantineEntry& entry,
                                                 const QuarantineCap& cap) override;
    /// Ready when reachable and leadhook_migrations is at this build's
    /// version or newer. One query, never inside a transaction.
    Readiness readiness() override;

    /// Connects now rather than on the first request; nullopt when reachable.
    std::optional<StoreError> connect() { return m_conn.ensure_connected(); }

    /// Reconnects after a lost connection or failed connect; any thread.
    /// (Overrides both EventStore's and BatchSink's.)
    std::uint64_t reconnects() const override { return m_conn.reconnects(); }

  private:
    Expected<BatchResults, StoreError>
    write_with_retries(std::span<const EventRecord* const> records);
    Expected<BatchResults, StoreError> write_batch(std::span<const EventRecord* const> records);
    std::optional<StoreError> ensure_partitions_for(std::span<const EventRecord* const> records);
    /// Rolls back (or drops a connection that cannot) and returns the error.
    StoreError rollback_with(StoreError error);

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
