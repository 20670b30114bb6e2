#pragma once
// Counters in the Prometheus text format, through prometheus-cpp's core
// (registry and serializer; no HTTP server of its own: leadhook serves
// /metrics on its FastCGI socket like any other route). Thread-safe.
#include <memory>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
template <typename T> class Family;
class Counter;
} // namespace prometheus

namespace leadhook::obs {

class Metrics {
  public:
    Metrics();
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    /// One per answered request, by outcome label (stored, duplicate, ...).
    void count_request(std::string_view outcome);
    /// A used token arrived with a different body.
    void count_forgery();
    /// What the quarantine did: stored, repeated, dropped (over the cap) or failed.
    void count_quarantine(std::string_view result);
    void count_reload(bool ok);
    void count_purged(long long tokens, long long quarantined);

    /// The exposition, text format 0.0.4.
    std::string render() const;

  private:
    std::shared_ptr<prometheus::Registry> m_registry;
    prometheus::Family<prometheus::Counter>* m_requests;
    prometheus::Family<prometheus::Counter>* m_forgeries;
    prometheus::Family<prometheus::Counter>* m_quarantine;
    prometheus::Family<prometheus::Counter>* m_reloads;
    prometheus::Family<prometheus::Counter>* m_purged;
};

} // namespace leadhook::obs
