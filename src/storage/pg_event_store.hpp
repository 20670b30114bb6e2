#pragma once
// The PostgreSQL EventStore: one transaction per webhook that locks the
// matching lead, applies the lead-state rules and appends the event row.
#include "storage/event_store.hpp"
#include "storage/pg.hpp"

#include <string>

namespace leadhook::storage {

class PgEventStore final : public EventStore {
  public:
    explicit PgEventStore(std::string conninfo) : m_conn(std::move(conninfo)) {}

    Expected<Recorded, StoreError> record(const EventRecord& record) override;

    /// Connects now rather than on the first request; nullopt when reachable.
    std::optional<StoreError> connect() { return m_conn.ensure_connected(); }

  private:
    Expected<Recorded, StoreError> record_once(const EventRecord& record);

    PgConnection m_conn;
    bool m_commit_sent = false; ///< whether the last attempt got as far as COMMIT
};

} // namespace leadhook::storage
