#include "obs/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>

namespace leadhook::obs {
namespace {

using prometheus::Histogram;

prometheus::Family<prometheus::Counter>* counter(prometheus::Registry& registry, const char* name,
                                                 const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Family<Histogram>* histogram(prometheus::Registry& registry, const char* name,
                                         const char* help) {
    return &prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

// From a fast commit to PostgreSQL's 15 s statement timeout.
const Histogram::BucketBoundaries latency_buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                  0.25,  0.5,    1,     2.5,  5,     10,   20};
// From prompt delivery to the end of Mailgun's ~8 h retries and the 24 h window.
const Histogram::BucketBoundaries age_buckets{1,    5,     15,    60,    300,   900,
                                              3600, 14400, 28800, 86400, 172800};
// A lone event up to the largest batch_max_events that makes sense.
const Histogram::BucketBoundaries batch_buckets{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

} // namespace

Metrics::Metrics()
    : m_registry(std::make_shared<prometheus::Registry>()),
      m_requests(counter(*m_registry, "leadhook_requests_total",
                         "Requests answered, by route, status and outcome")),
      m_in_flight(&prometheus::BuildGauge()
                       .Name("leadhook_requests_in_flight")
                       .Help("Requests being handled now")
                       .Register(*m_registry)
                       .Add({})),
      m_request_seconds(histogram(*m_registry, "leadhook_request_duration_seconds",
                                  "Time from reading a request to its answer")),
      m_events(counter(*m_registry, "leadhook_events_total", "Events stored, by type")),
      m_signature_failures(counter(*m_registry, "leadhook_signature_failures_total",
                                   "Webhooks refused before storage, by reason")),
      m_duplicates(counter(*m_registry, "leadhook_duplicates_total",
                           "Webhooks already stored (same token and body, or Mailgun event)")),
      m_forgeries(counter(*m_registry, "leadhook_forgeries_total",
                          "Requests that reused a stored token with a different body")),
      m_database_seconds(histogram(*m_registry, "leadhook_database_duration_seconds",
                                   "One event from handing it to the writer to its commit")),
      m_timestamp_age(histogram(*m_registry, "leadhook_webhook_timestamp_age_seconds",
                                "Arrival time minus the signed timestamp")),
      m_batch_events(&histogram(*m_registry, "leadhook_database_batch_events",
                                "Events written by one group-commit transaction")
                          ->Add({}, batch_buckets)),
      m_reconnects(counter(*m_registry, "leadhook_database_reconnects_total",
                           "Connections to PostgreSQL made again after one was lost")),
      m_database_available(
          &prometheus::BuildGauge()
               .Name("leadhook_database_available")
               .Help(
                   "0 from a batch that found no writable primary until one commits again, else 1")
               .Register(*m_registry)
               .Add({})),
      m_database_unavailable_seconds(
          &counter(*m_registry, "leadhook_database_unavailable_seconds_total",
                   "Time without a writable primary, from the first batch that could not "
                   "reach one to the next that committed; added when it ends")
               ->Add({})),
      m_quarantine(counter(*m_registry, "leadhook_quarantine_total",
                           "Refused requests by what the quarantine did with them")),
      m_reloads(counter(*m_registry, "leadhook_config_reloads_total",
                        "SIGHUP reloads of signing keys and policy, by result")),
      m_purged(counter(*m_registry, "leadhook_purged_rows_total",
                       "Rows deleted by housekeeping, by table")),
      m_dropped_partitions(counter(*m_registry, "leadhook_dropped_partitions_total",
                                   "Month partitions past retention dropped by housekeeping")),
      m_connections_accepted(&counter(*m_registry, "leadhook_fastcgi_connections_accepted_total",
                                      "FastCGI connections accepted from the web server")
                                  ->Add({})),
      m_connections_overdue(
          &counter(*m_registry, "leadhook_fastcgi_connections_overdue_total",
                   "FastCGI connections closed because their request did not arrive in time")
               ->Add({})),
      m_connections_idle(&prometheus::BuildGauge()
                              .Name("leadhook_fastcgi_connections_idle")
                              .Help("Kept-alive FastCGI connections idle between requests")
                              .Register(*m_registry)
                              .Add({})) {
    // Series that exist from the start, so a scrape sees 0 rather than nothing.
    m_duplicates->Add({});
    m_forgeries->Add({});
    m_reconnects->Add({});
    m_database_available->Set(1); // until a batch finds no writable primary
    m_database_seconds->Add({}, latency_buckets);
    m_timestamp_age->Add({}, age_buckets);
    for (const char* reason : {"missing", "mismatch", "expired_key", "stale", "future"}) {
        m_signature_failures->Add({{"reason", reason}});
    }
    for (const char* result : {"stored", "repeated", "dropped", "failed"}) {
        m_quarantine->Add({{"result", result}});
    }
    for (const char* result : {"ok", "failed"}) {
        m_reloads->Add({{"result", result}});
    }
    for (const char* table :
         {"webhook_tokens", "webhook_quarantine", "lead_email_event_payloads"}) {
        m_purged->Add({{"table", table}});
    }
    for (const char* table : {"lead_email_events", "lead_email_event_payloads"}) {
        m_dropped_partitions->Add({{"table", table}});
    }
}

Metrics::~Metrics() = default;

void Metrics::request_started() {
    m_in_flight->Increment();
}

void Metrics::request_finished(std::string_view route, int status, std::string_view outcome,
                               double seconds) {
    m_in_flight->Decrement();
    m_requests
        ->Add({{"route", std::string(route)},
               {"status", std::to_string(status)},
               {"outcome", std::string(outcome)}})
        .Increment();
    m_request_seconds->Add({{"route", std::string(route)}}, latency_buckets).Observe(seconds);
}

void Metrics::count_event(std::string_view type) {
    m_events->Add({{"type", std::string(type)}}).Increment();
}

void Metrics::count_signature_failure(std::string_view reason) {
    m_signature_failures->Add({{"reason", std::string(reason)}}).Increment();
}

void Metrics::count_duplicate() {
    m_duplicates->Add({}).Increment();
}

void Metrics::count_forgery() {
    m_forgeries->Add({}).Increment();
}

void Metrics::observe_database(double seconds) {
    m_database_seconds->Add({}, latency_buckets).Observe(seconds);
}

void Metrics::observe_timestamp_age(double seconds) {
    m_timestamp_age->Add({}, age_buckets).Observe(std::max(0.0, seconds));
}

void Metrics::observe_batch(std::size_t events) {
    m_batch_events->Observe(static_cast<double>(events));
}

void Metrics::count_db_reconnects(std::uint64_t n) {
    if (n > 0) {
        m_reconnects->Add({}).Increment(static_cast<double>(n));
    }
}

void Metrics::note_database_reached(bool reached, std::int64_t now_micros) {
    std::lock_guard lock(m_outage_mutex);
    if (!reached) {
        if (m_unavailable_since == 0) {
            m_unavailable_since = now_micros;
            m_database_available->Set(0);
        }
        return;
    }
    if (m_unavailable_since != 0) {
        m_database_unavailable_seconds->Increment(
            static_cast<double>(std::max<std::int64_t>(0, now_micros - m_unavailable_since)) / 1e6);
        m_unavailable_since = 0;
    }
    m_database_available->Set(1);
}

void Metrics::count_quarantine(std::string_view result) {
    m_quarantine->Add({{"result", std::string(result)}}).Increment();
}

void Metrics::count_reload(bool ok) {
    m_reloads->Add({{"result", ok ? "ok" : "failed"}}).Increment();
}

void Metrics::count_purged(std::string_view table, long long rows) {
    m_purged->Add({{"table", std::string(table)}}).Increment(static_cast<double>(rows));
}

void Metrics::count_dropped_partitions(std::string_view table, long long partitions) {
    m_dropped_partitions->Add({{"table", std::string(table)}})
        .Increment(static_cast<double>(partitions));
}

void Metrics::count_connection_accepted() {
    m_connections_accepted->Increment();
}

void Metrics::count_connection_overdue() {
    m_connections_overdue->Increment();
}

void Metrics::set_idle_connections(std::size_t n) {
    m_connections_idle->Set(static_cast<double>(n));
}

std::string Metrics::render() const {
    return prometheus::TextSerializer().Serialize(m_registry->Collect());
}

} // namespace leadhook::obs
