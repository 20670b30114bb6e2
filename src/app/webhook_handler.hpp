#pragma once
// One webhook, start to finish: decode, verify, normalise, store. Each step
// either passes its value on or ends the request with an Outcome.
#include "app/outcome.hpp"
#include "app/router.hpp"
#include "http/request.hpp"
#include "storage/event_store.hpp"

#include <span>
#include <string>

namespace leadhook::app {

class WebhookHandler {
  public:
    /// `keys` must outlive the handler; the store is this worker's own.
    WebhookHandler(std::span<const std::string> keys, storage::EventStore& store)
        : m_keys(keys), m_store(store) {}

    Reply handle(const http::Request& request, const Route& route) const;

  private:
    std::span<const std::string> m_keys;
    storage::EventStore& m_store;
};

} // namespace leadhook::app
