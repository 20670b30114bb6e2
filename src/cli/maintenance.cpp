#include "app/reverify.hpp"
#include "cli/commands.hpp"
#include "cli/housekeeping.hpp"
#include "config/config.hpp"
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

int purge(const std::optional<std::string>& config_path) {
    auto config = load(config_path);
    if (!config) {
        return 2;
    }
    const auto cutoffs = purge_cutoffs(SystemClock().now(), app::settings_from(*config).freshness,
                                       config->quarantine_retention_days);
    storage::PgMaintenance maintenance(config->database_url);
    auto purged = maintenance.purge(cutoffs.tokens_before, cutoffs.quarantine_before);
    if (!purged) {
        std::fprintf(stderr, "leadhook purge: %s\n", purged.error().message.c_str());
        return 1;
    }
    std::printf("purge: %lld ledger tokens signed before %s, %lld quarantined requests last "
                "seen before %s\n",
                purged->tokens,
                cutoffs.tokens_before ? format_utc(*cutoffs.tokens_before).c_str()
                                      : "(never: "
                                        "max_age_seconds = 0 keeps every token)",
                purged->quarantined, format_utc(cutoffs.quarantine_before).c_str());
    return 0;
}

} // namespace leadhook::cli
