#pragma once
// What a request is judged by, and may change while serving: the signing
// keys and the acceptance policy. SIGHUP swaps in a new Settings; a request
// keeps the snapshot it started with, so a reload never changes the rules
// halfway through one.
#include "body/fields.hpp"
#include "capture/capture_format.hpp"
#include "domain/freshness.hpp"
#include "domain/retention.hpp"
#include "mailgun/key_ring.hpp"
#include "storage/event_store.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace leadhook::config {
struct Config;
}

namespace leadhook::app {

struct Settings {
    std::vector<mailgun::SigningKey> keys;
    domain::FreshnessPolicy freshness;
    body::Limits limits;
    storage::QuarantineCap quarantine_cap;
    domain::Retention retention; ///< for the housekeeping purge
    capture::CaptureSettings capture;
};

Settings settings_from(const config::Config& config);

class SettingsHolder {
  public:
    explicit SettingsHolder(Settings initial)
        : m_current(std::make_shared<const Settings>(std::move(initial))) {}

    std::shared_ptr<const Settings> get() const {
        std::lock_guard lock(m_mutex);
        return m_current;
    }
    void set(Settings next) {
        auto fresh = std::make_shared<const Settings>(std::move(next));
        std::lock_guard lock(m_mutex);
        m_current = std::move(fresh);
    }

  private:
    mutable std::mutex m_mutex;
    std::shared_ptr<const Settings> m_current;
};

} // namespace leadhook::app
