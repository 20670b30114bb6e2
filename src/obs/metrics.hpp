#pragma once
// Counters, gauges and histograms in the Prometheus text format, through
// prometheus-cpp's core (registry and serializer; no HTTP server of its own:
// leadhook serves GET /api/v1/metrics on its FastCGI socket like any other
// route). Thread-safe; label values come from fixed sets, never from input.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
template <typename T> class Family;
class Counter;
class Gauge;
class Histogram;
} // namespace prometheus

namespace leadhook::obs {

class Metrics {
  public:
    Metrics();
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    void request_started();
    /// `route`: the route's name ("events", "delivered", ...; "unknown" for 404s).
    void request_finished(std::string_view route, int status, std::string_view outcome,
                          double seconds);
    /// An event stored, by normalised type.
    void count_event(std::string_view type);
    /// missing, mismatch, expired_key, stale, future.
    void count_signature_failure(std::string_view reason);
    void count_duplicate();
    /// A used token arrived with a different body.
    void count_forgery();
    /// One EventStore::record call, commit included.
    void observe_database(double seconds);
    /// Events written by one group-commit transaction.
    void observe_batch(std::size_t events);
    /// Arrival time minus the signed timestamp of a verified webhook.
    void observe_timestamp_age(double seconds);
    void count_db_reconnects(std::uint64_t n);
    /// After each group-commit batch: whether it reached a writable
    /// database. The time from the first batch that did not to the next one
    /// that did is added to leadhook_database_unavailable_seconds_total when
    /// it ends; leadhook_database_available says which state holds now.
    void note_database_reached(bool reached, std::int64_t now_micros);
    /// What the quarantine did: stored, repeated, dropped (over the cap) or failed.
    void count_quarantine(std::string_view result);
    void count_reload(bool ok);
    /// Rows the purge removed from `table`, one by one (not by dropping a
    /// partition, which count_dropped_partitions counts).
    void count_purged(std::string_view table, long long rows);
    void count_dropped_partitions(std::string_view table, long long partitions);
    /// A FastCGI connection accepted from the web server.
    void count_connection_accepted();
    /// A connection closed because its request did not arrive in time.
    void count_connection_overdue();
    /// Kept-alive FastCGI connections idle between requests right now.
    void set_idle_connections(std::size_t n);

    /// The exposition, text format 0.0.4.
    std::string render() const;

  private:
    using Counters = prometheus::Family<prometheus::Counter>;
    using Histograms = prometheus::Family<prometheus::Histogram>;

    std::shared_ptr<prometheus::Registry> m_registry;
    Counters* m_requests;
    prometheus::Gauge* m_in_flight;
    Histograms* m_request_seconds;
    Counters* m_events;
    Counters* m_signature_failures;
    Counters* m_duplicates;
    Counters* m_forgeries;
    Histograms* m_database_seconds;
    Histograms* m_timestamp_age;
    prometheus::Histogram* m_batch_events;
    Counters* m_reconnects;
    prometheus::Gauge* m_database_available;
    prometheus::Counter* m_database_unavailable_seconds;
    std::mutex m_outage_mutex;
    std::int64_t m_unavailable_since = 0; ///< micros; 0 while available
    Counters* m_quarantine;
    Counters* m_reloads;
    Counters* m_purged;
    Counters* m_dropped_partitions;
    prometheus::Counter* m_connections_accepted;
    prometheus::Counter* m_connections_overdue;
    prometheus::Gauge* m_connections_idle;
};

} // namespace leadhook::obs
