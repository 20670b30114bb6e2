#include "obs/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace leadhook::obs {
namespace {

prometheus::Family<prometheus::Counter>* counter(prometheus::Registry& registry, const char* name,
                                                 const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

} // namespace

Metrics::Metrics()
    : m_registry(std::make_shared<prometheus::Registry>()),
      m_requests(counter(*m_registry, "leadhook_requests_total", "Requests answered, by outcome")),
      m_forgeries(counter(*m_registry, "leadhook_forgeries_total",
                          "Requests that reused a stored token with a different body")),
      m_quarantine(counter(*m_registry, "leadhook_quarantine_total",
                           "Refused requests by what the quarantine did with them")),
      m_reloads(counter(*m_registry, "leadhook_config_reloads_total",
                        "SIGHUP reloads of signing keys and policy, by result")),
      m_purged(counter(*m_registry, "leadhook_purged_rows_total",
                       "Rows removed by housekeeping, by table")) {
    m_forgeries->Add({});
    for (const char* result : {"stored", "repeated", "dropped", "failed"}) {
        m_quarantine->Add({{"result", result}});
    }
    for (const char* result : {"ok", "failed"}) {
        m_reloads->Add({{"result", result}});
    }
    for (const char* table : {"webhook_tokens", "webhook_quarantine"}) {
        m_purged->Add({{"table", table}});
    }
}

Metrics::~Metrics() = default;

void Metrics::count_request(std::string_view outcome) {
    m_requests->Add({{"outcome", std::string(outcome)}}).Increment();
}

void Metrics::count_forgery() {
    m_forgeries->Add({}).Increment();
}

void Metrics::count_quarantine(std::string_view result) {
    m_quarantine->Add({{"result", std::string(result)}}).Increment();
}

void Metrics::count_reload(bool ok) {
    m_reloads->Add({{"result", ok ? "ok" : "failed"}}).Increment();
}

void Metrics::count_purged(long long tokens, long long quarantined) {
    m_purged->Add({{"table", "webhook_tokens"}}).Increment(static_cast<double>(tokens));
    m_purged->Add({{"table", "webhook_quarantine"}}).Increment(static_cast<double>(quarantined));
}

std::string Metrics::render() const {
    return prometheus::TextSerializer().Serialize(m_registry->Collect());
}

} // namespace leadhook::obs
