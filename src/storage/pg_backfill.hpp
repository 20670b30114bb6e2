#pragma once
// BackfillStore on PostgreSQL: events through a PgEventStore (the webhook
// write, unchanged), checkpoints, held counts and suppression list imports
// on a second connection.
#include "storage/backfill_store.hpp"
#include "storage/pg.hpp"
#include "storage/pg_event_store.hpp"

namespace leadhook::storage {

class PgBackfillStore final : public BackfillStore {
  public:
    explicit PgBackfillStore(const std::string& conninfo, const Clock& clock = wall_clock())
        : m_events(conninfo, clock), m_conn(conninfo, clock) {}

    /// Connects and checks the schema: nullopt when this build can write to
    /// it, else what is wrong (for the user, with the command that fixes it).
    std::optional<std::string> check_schema();

    BatchResults record_page(std::span<const EventRecord* const> records) override {
        return m_events.record_batch(records);
    }
    Expected<std::optional<Checkpoint>, StoreError>
    find_checkpoint(const BackfillKey& key) override;
    std::optional<StoreError> save_checkpoint(const Checkpoint& checkpoint,
                                              EpochMicros now) override;
    Expected<std::vector<bool>, StoreError>
    held_events(std::span<const mailgun::Event> events) override;
    Expected<std::vector<HeldCount>, StoreError> held_counts(const BackfillKey& key) override;
    Expected<SuppressionsImported, StoreError>
    import_suppressions(std::span<const ListedSuppression> entries) override;

  private:
    PgEventStore m_events;
    PgConnection m_conn;
};

} // namespace leadhook::storage
