#pragma once
// What the request handler needs from storage. The PostgreSQL implementation
// lives in leadhook_pg; the core only sees this interface.
#include "mailgun/event.hpp"
#include "util/clock.hpp"
#include "util/expected.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook::storage {

/// Where an event was learnt: a signed webhook, or Mailgun's API (backfill).
enum class EventSource { webhook, api };
inline std::string_view to_string(EventSource source) {
    return source == EventSource::api ? "api" : "webhook";
}

/// One accepted webhook (or an event read back from Mailgun's API), ready to
/// be written with its lead's new state.
struct EventRecord {
    const mailgun::Event& event;
    EpochMicros event_time; ///< the event's own time, or the signed timestamp, or arrival
    EpochMicros received_at;
    EpochMicros signed_at; ///< the signature's timestamp; the ledger row's purge key
    std::string token;     ///< the signature triple, kept for audit and replay checks
    std::string signature;
    std::string key_label;   ///< which signing key verified it
    std::string body_sha256; ///< 32 raw bytes: binds the token to this body
    std::string route;       ///< the path it arrived on
    EventSource source = EventSource::webhook;
};

enum class RecordStatus {
    stored,    ///< new: the event row and the lead's state were written
    duplicate, ///< seen before (same token and body, or same Mailgun event): nothing changed
    forgery,   ///< the token was already used with a different body: nothing written
};

struct Recorded {
    RecordStatus status = RecordStatus::stored;
    std::optional<std::int64_t> lead_id; ///< nullopt: no lead matched (or unknown for forgery)
};

/// A request that was not accepted, kept raw for inspection and reverify.
struct QuarantineEntry {
    std::string_view reason; ///< bad_signature, stale, future, unprocessable, forgery
    std::string_view detail; ///< the error answered; never a secret
    std::string_view path;
    std::string_view content_type;
    std::string_view remote_addr;
    std::string_view request_id;
    std::string_view body;
    std::string body_sha256; ///< 32 raw bytes
    EpochMicros received_at;
};

/// The quarantine's bounds: requests and bytes per clock hour, across every
/// process sharing the database; and one body's size.
struct QuarantineCap {
    long long max_requests = 1000;
    long long max_bytes = 64LL << 20;
    /// A larger body is not kept at all: storing an unverified 24 MB body
    /// would cost several times that in memory, and grow the database
    /// connection's buffers for good.
    long long max_body_bytes = 1LL << 20;
};

enum class Quarantined {
    stored,   ///< a new row
    repeated, ///< the same body and path were already there: attempts counted
    dropped,  ///< over the hourly cap, or the body over max_body_bytes: only counted
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

/// One result per record of a batch, in the same order.
using BatchResults = std::vector<Expected<Recorded, StoreError>>;

/// Whether this store can take events now: for GET /api/v1/ready.
struct Readiness {
    bool ready = false;
    std::string reason; ///< short, for the JSON answer and the log; never a secret
};

class EventStore {
  public:
    virtual ~EventStore() = default;
    /// Writes the event row and the lead's new state in one transaction;
    /// returns only after COMMIT succeeded, or with nothing written.
    /// A token seen before is answered from the ledger without touching
    /// anything else.
    virtual Expected<Recorded, StoreError> record(const EventRecord& record) = 0;

    virtual Expected<Quarantined, StoreError> quarantine(const QuarantineEntry& entry,
                                                         const QuarantineCap& cap) = 0;

    /// The database is reachable and its schema is the version this build
    /// expects. Cheap enough for a load balancer to ask every few seconds.
    virtual Readiness readiness() = 0;

    /// Connections made again after one was lost, since the start.
    virtual std::uint64_t reconnects() const { return 0; }
};

} // namespace leadhook::storage
