#pragma once
// One webhook, start to finish: decode, verify, check freshness, normalise,
// store. Each step either passes its value on or ends the request with an
// Outcome; refused requests are then kept in the quarantine.
#include "app/outcome.hpp"
#include "app/router.hpp"
#include "app/settings.hpp"
#include "http/request.hpp"
#include "obs/metrics.hpp"
#include "storage/event_store.hpp"

namespace leadhook::app {

class WebhookHandler {
  public:
    /// `quarantine`: keep refused requests. Off for `leadhook reverify`,
    /// which replays requests that are in the quarantine already.
    WebhookHandler(const SettingsHolder& settings, storage::EventStore& store,
                   obs::Metrics& metrics, bool quarantine = true)
        : m_settings(settings), m_store(store), m_metrics(metrics), m_quarantine(quarantine) {}

    Reply handle(const http::Request& request, const Route& route) const;

  private:
    Reply judge(const http::Request& request, const Route& route, const Settings& settings,
                const std::string& body_sha256) const;
    void count(const Reply& reply) const;
    void keep(const http::Request& request, Reply& reply, const Settings& settings,
              std::string body_sha256) const;

    const SettingsHolder& m_settings;
    storage::EventStore& m_store;
    obs::Metrics& m_metrics;
    bool m_quarantine;
};

} // namespace leadhook::app
