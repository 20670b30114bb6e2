#pragma once
// A background thread that purges what has outlived its use: ledger rows
// outside the freshness window and old quarantine rows. On its own database
// connection, so it never holds up a request worker.
#include "app/settings.hpp"
#include "obs/log.hpp"
#include "obs/metrics.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace leadhook::cli {

struct HousekeepingOptions {
    std::string database_url;
    std::chrono::seconds interval{600};
    std::chrono::seconds first_run{30};
    int quarantine_retention_days = 30;
};

/// What a purge run now removes: ledger tokens signed before `tokens_before`
/// (never, when the freshness check is off) and quarantine rows last seen
/// before `quarantine_before`. The thread and `leadhook purge` share it.
struct PurgeCutoffs {
    std::optional<EpochMicros> tokens_before;
    EpochMicros quarantine_before;
};
PurgeCutoffs purge_cutoffs(EpochMicros now, const app::FreshnessPolicy& freshness,
                           int quarantine_retention_days);

class Housekeeping {
  public:
    Housekeeping(HousekeepingOptions options, const app::SettingsHolder& settings,
                 obs::Metrics& metrics, obs::Logger& log, const Clock& clock);
    ~Housekeeping(); ///< stops and joins
    Housekeeping(const Housekeeping&) = delete;
    Housekeeping& operator=(const Housekeeping&) = delete;

  private:
    void run();
    void purge_once();

    HousekeepingOptions m_options;
    const app::SettingsHolder& m_settings;
    obs::Metrics& m_metrics;
    obs::Logger& m_log;
    const Clock& m_clock;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stopping = false;
    std::thread m_thread; ///< last: starts once everything above exists
};

} // namespace leadhook::cli
