#include "app/reverify.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "storage/pg_event_store.hpp"
#include "storage/pg_maintenance.hpp"

#include <cstdio>

namespace leadhook::cli {
namespace {

constexpr EpochMicros micros_per_day = 86'400'000'000LL;

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
    const app::Settings settings = app::settings_from(*config);
    const EpochMicros now = SystemClock().now();
    const auto tokens_before = app::ledger_horizon(now, settings.freshness);
    storage::PgMaintenance maintenance(config->database_url);
    auto purged =
        maintenance.purge(tokens_before, now - config->quarantine_retention_days * micros_per_day);
    if (!purged) {
        std::fprintf(stderr, "leadhook purge: %s\n", purged.error().message.c_str());
        return 1;
    }
    std::printf("purge: %lld ledger tokens signed before %s, %lld quarantined requests last "
                "seen before %s\n",
                purged->tokens,
                tokens_before ? format_utc(*tokens_before).c_str()
                              : "(never: "
                                "max_age_seconds = 0 keeps every token)",
                purged->quarantined,
                format_utc(now - config->quarantine_retention_days * micros_per_day).c_str());
    return 0;
}

} // namespace leadhook::cli
