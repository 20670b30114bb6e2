#include "cli/commands.hpp"
#include "config/config.hpp"
#include "storage/pg_conninfo.hpp"

#include <cstdio>

namespace leadhook::cli {

int check_config(const std::optional<std::string>& config_path) {
    auto config = config::load_config(config_path, config::process_env());
    if (!config) {
        std::fprintf(stderr, "leadhook: invalid configuration: %s\n",
                     config.error().message.c_str());
        return 2;
    }
    auto database = storage::redacted_conninfo(config->database_url);
    if (!database) {
        std::fprintf(stderr, "leadhook: invalid configuration: database_url: %s\n",
                     database.error().c_str());
        return 2;
    }
    std::printf("# leadhook %s: effective configuration (%s, then LEADHOOK_* variables and "
                "flags); signing keys by label only\n",
                LEADHOOK_VERSION,
                config_path ? config_path->c_str() : "no config file: built-in defaults");
    for (const auto& [name, value] : config::effective_settings(*config)) {
        std::printf("%s = %s\n", name.c_str(), value.c_str());
    }
    std::printf("database_url = %s\n", database->c_str());
    const auto warnings = config->warnings;
    auto timed = config::key_warnings(*config, SystemClock().now());
    for (const auto& warning : warnings) {
        std::fprintf(stderr, "leadhook: warning: %s\n", warning.c_str());
    }
    for (const auto& warning : timed) {
        std::fprintf(stderr, "leadhook: warning: %s\n", warning.c_str());
    }
    std::fprintf(stderr, "leadhook: configuration is valid\n");
    return 0;
}

} // namespace leadhook::cli
