#pragma once
// What the request handler needs from storage. The PostgreSQL implementation
// lives in leadhook_pg; the core only sees this interface.
#include "mailgun/event.hpp"
#include "util/clock.hpp"
#include "util/expected.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace leadhook::storage {

/// One accepted webhook, ready to be written with its lead's new state.
struct EventRecord {
    const mailgun::Event& event;
    EpochMicros event_time; ///< the event's own time, or the signed timestamp, or arrival
    EpochMicros received_at;
    std::string token; ///< the signature triple, kept for audit and replay checks
    std::string signature;
    std::string route; ///< the path it arrived on
};

struct Recorded {
    std::optional<std::int64_t> lead_id; ///< nullopt: no lead matched
};

enum class StoreFailure {
    unavailable, ///< the database cannot be reached now: retry later (503)
    internal,    ///< anything else: a bug or a schema problem (500)
};

struct StoreError {
    StoreFailure kind;
    std::string sqlstate; ///< empty when libpq gave none (connection lost)
    std::string message;  ///< for the log; never contains payload data
};

class EventStore {
  public:
    virtual ~EventStore() = default;
    /// Writes the event row and the lead's new state in one transaction;
    /// returns only after COMMIT succeeded, or with nothing written.
    virtual Expected<Recorded, StoreError> record(const EventRecord& record) = 0;
};

} // namespace leadhook::storage
