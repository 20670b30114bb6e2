#include "app/settings.hpp"

#include "config/config.hpp"

namespace leadhook::app {

Settings settings_from(const config::Config& config) {
    return Settings{
        .keys = config.signing_keys,
        .freshness = {.max_age_seconds = config.max_age_seconds,
                      .max_future_skew_seconds = config.max_future_skew_seconds},
        .limits = config.limits(),
        .quarantine_cap = {.max_requests = config.quarantine_max_per_hour,
                           .max_bytes = config.quarantine_max_bytes_per_hour,
                           .max_body_bytes = config.quarantine_max_body_bytes},
        .retention = {.quarantine_days = config.quarantine_retention_days,
                      .payload_days = config.payload_retention_days,
                      .event_months = config.event_retention_months},
        .capture = {.dir = config.capture_dir,
                    .limits = {.max_files = config.capture_max_files,
                               .max_bytes = config.capture_max_bytes}},
    };
}

} // namespace leadhook::app
