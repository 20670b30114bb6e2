#pragma once
// A background thread that runs the purge (see `leadhook purge`) every ten
// minutes with the current settings: ledger rows outside the freshness
// window, old quarantine rows and payloads, event-log months past retention,
// and next month's partitions. On its own database connection, so it never
// holds up a request worker.
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
};

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
