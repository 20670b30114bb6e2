#include "cli/housekeeping.hpp"

#include "storage/pg_maintenance.hpp"

namespace leadhook::cli {
Housekeeping::Housekeeping(HousekeepingOptions options, const app::SettingsHolder& settings,
                           obs::Metrics& metrics, obs::Logger& log, const Clock& clock)
    : m_options(std::move(options)), m_settings(settings), m_metrics(metrics), m_log(log),
      m_clock(clock), m_thread([this] { run(); }) {}

Housekeeping::~Housekeeping() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

void Housekeeping::run() {
    auto wait = m_options.first_run;
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            if (m_wake.wait_for(lock, wait, [this] { return m_stopping; })) {
                return;
            }
        }
        purge_once();
        wait = m_options.interval;
    }
}

void Housekeeping::purge_once() {
    try {
        storage::PgMaintenance maintenance(m_options.database_url);
        const auto settings = m_settings.get();
        const auto plan =
            domain::purge_plan(m_clock.now(), settings->freshness, settings->retention);
        const auto purged = maintenance.purge(plan);
        if (!purged) {
            m_log.write("warn", {{"msg", "housekeeping: purge failed; will try again"},
                                 {"error", purged.error().message},
                                 {"sqlstate", purged.error().sqlstate}});
            return;
        }
        m_metrics.count_purged("webhook_tokens", purged->tokens);
        m_metrics.count_purged("webhook_quarantine", purged->quarantined);
        m_metrics.count_purged("lead_email_event_payloads", purged->payload_rows);
        m_metrics.count_dropped_partitions("lead_email_event_payloads",
                                           std::ssize(purged->payload_partitions));
        m_metrics.count_dropped_partitions("lead_email_events",
                                           std::ssize(purged->event_partitions));
        const auto partitions = purged->payload_partitions.size() + purged->event_partitions.size();
        if (purged->tokens > 0 || purged->quarantined > 0 || purged->payload_rows > 0 ||
            partitions > 0) {
            m_log.write("info", {{"msg", "housekeeping: purged"},
                                 {"tokens", std::to_string(purged->tokens)},
                                 {"quarantined", std::to_string(purged->quarantined)},
                                 {"payloads", std::to_string(purged->payload_rows)},
                                 {"partitions_dropped", std::to_string(partitions)}});
        }
    } catch (const std::exception& e) {
        m_log.write("error", {{"msg", "housekeeping failed"}, {"error", e.what()}});
    }
}

} // namespace leadhook::cli
