#pragma once
// The whole request path of one worker: route, handle, answer, log. This is
// the single catch boundary: whatever escapes a handler becomes a logged 500.
#include "app/webhook_handler.hpp"
#include "http/request.hpp"
#include "obs/log.hpp"

namespace leadhook::app {

class App {
  public:
    App(const SettingsHolder& settings, storage::EventStore& store, obs::Logger& log,
        obs::Metrics& metrics)
        : m_webhooks(settings, store, metrics), m_store(store), m_log(log), m_metrics(metrics) {}

    http::Response handle(const http::Request& request) noexcept;

  private:
    Reply dispatch(const http::Request& request) const;
    Reply answer(const http::Request& request, const Route& route) const;
    void log_request(const http::Request& request, const Reply& reply, long long micros) noexcept;

    WebhookHandler m_webhooks;
    storage::EventStore& m_store;
    obs::Logger& m_log;
    obs::Metrics& m_metrics;
    std::uint64_t m_reconnects_seen = 0; ///< this worker's store, as last counted
};

} // namespace leadhook::app
