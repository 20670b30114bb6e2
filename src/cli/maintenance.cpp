#include "app/reverify.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "domain/retention.hpp"
#include "storage/pg_event_store.hpp"
#include "storage/pg_maintenance.hpp"

#include <cstdio>

namespace leadhook::cli {
namespace {

std::optional<config::Config> load(const std::optional<std::string>& config_path) {
    auto config = config::load_config(config_path, config::process_env());
    if (!config) {
        std::fprintf(stderr, "leadhook: %s\n", config.error().message.c_str());
        return std::nullopt;
    }
    for (const auto& warning : config->warnings) {
        std::fprintf(stderr, "leadhook: warning: %s\n", warning.c_str());
    }
    return std::move(config).value();
}

void print_partitions(const char* what, const std::vector<storage::DroppedPartition>& dropped) {
    for (const auto& p : dropped) {
        const std::string rows = p.estimated_rows < 0
                                     ? "never analysed"
                                     : "about " + std::to_string(p.estimated_rows) + " rows";
        std::printf("purge:   %s partition %s (%s)\n", what, p.name.c_str(), rows.c_str());
    }
}

/// One line per kind of data, then one per whole month partition.
void print_purged(const storage::Purged& purged, const domain::PurgePlan& plan, const char* verb) {
    if (plan.tokens_before) {
        std::printf("purge: %s %lld ledger tokens signed before %s\n", verb, purged.tokens,
                    format_utc(*plan.tokens_before).c_str());
    } else {
        std::printf("purge: kept every ledger token (max_age_seconds = 0)\n");
    }
    std::printf("purge: %s %lld quarantined requests last seen before %s\n", verb,
                purged.quarantined, format_utc(plan.quarantine_before).c_str());
    std::printf("purge: %s event payloads received before %s: %zu whole months, %lld rows\n", verb,
                format_utc(plan.payloads_before).c_str(), purged.payload_partitions.size(),
                purged.payload_rows);
    print_partitions("payload", purged.payload_partitions);
    if (plan.events_before) {
        std::printf("purge: %s event-log months wholly before %s: %zu\n", verb,
                    format_utc(*plan.events_before).c_str(), purged.event_partitions.size());
        print_partitions("event-log", purged.event_partitions);
    } else {
        std::printf("purge: kept the whole event log (event_retention_months = 0)\n");
    }
}

} // namespace

int reverify(const std::optional<std::string>& config_path) {
    auto config = load(config_path);
    if (!config) {
        return 2;
    }
    const app::SettingsHolder settings(app::settings_from(*config));
    storage::PgEventStore store(config->database_url);
    storage::PgMaintenance quarantine(config->database_url);
    obs::Metrics metrics; // required by the handler; a one-shot command exports nothing
    const app::WebhookHandler handler(settings, store, metrics, /*quarantine=*/false);
    auto counts = app::reverify(quarantine, handler, stdout);
    if (!counts) {
        std::fflush(stdout);
        std::fprintf(stderr, "leadhook reverify: stopped: %s\n", counts.error().message.c_str());
        return 1;
    }
    std::printf("reverify: %d imported, %d duplicate, %d skipped\n", counts->imported,
                counts->duplicate, counts->skipped);
    return 0;
}

int purge(const std::optional<std::string>& config_path, bool dry_run) {
    auto config = load(config_path);
    if (!config) {
        return 2;
    }
    const auto settings = app::settings_from(*config);
    const auto plan =
        domain::purge_plan(SystemClock().now(), settings.freshness, settings.retention);
    storage::PgMaintenance maintenance(config->database_url);
    auto purged = maintenance.purge(plan, dry_run);
    if (!purged) {
        std::fprintf(stderr, "leadhook purge: %s\n", purged.error().message.c_str());
        return 1;
    }
    if (purged->skipped) {
        std::printf("purge: skipped: another purge (leadhook serve's housekeeping, or a timer) "
                    "is running\n");
        return 0;
    }
    print_purged(*purged, plan, dry_run ? "would remove" : "removed");
    return 0;
}

} // namespace leadhook::cli
