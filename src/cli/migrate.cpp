#include "cli/migrate.hpp"

#include "config/config.hpp"
#include "storage/pg_conninfo.hpp"
#include "storage/pg_migrate.hpp"

#include <cstdio>

namespace leadhook::cli {
Expected<std::string, std::string> database_url_only(const std::optional<std::string>& path) {
    config::Config base;
    if (path) {
        auto text = config::read_text_file(*path);
        if (!text) {
            return unexpected(*path + ": cannot read the config file");
        }
        auto parsed = config::parse_toml(*text, *path);
        if (!parsed) {
            return unexpected(parsed.error().message);
        }
        base = std::move(parsed).value();
    }
    auto config = config::apply_env(std::move(base), config::process_env());
    if (!config) {
        return unexpected(config.error().message);
    }
    if (auto valid = storage::redacted_conninfo(config->database_url); !valid) {
        return unexpected("database_url: " + valid.error());
    }
    return config->database_url;
}

int migrate(const std::optional<std::string>& config_path) {
    auto url = database_url_only(config_path);
    if (!url) {
        std::fprintf(stderr, "leadhook migrate: invalid configuration: %s\n", url.error().c_str());
        return 2;
    }
    storage::PgConnection conn(*url);
    const storage::MigrateHooks hooks{
        .waiting =
            [] {
                std::fprintf(stderr,
                             "leadhook migrate: another process is migrating; waiting for it "
                             "(advisory lock %lld)\n",
                             storage::migration_lock_key);
            },
        .applied =
            [](const storage::Migration& m) {
                std::printf("applied %.*s (version %d)\n", static_cast<int>(m.name.size()),
                            m.name.data(), m.version);
                std::fflush(stdout); // progress, line by line, even when piped
            },
    };
    const auto migrations = storage::embedded_migrations();
    auto done = storage::migrate(conn, migrations, hooks);
    if (!done) {
        std::fprintf(stderr, "leadhook migrate: %s\n", done.error().c_str());
        return 1;
    }
    const int newest = storage::newest_migration_version(migrations);
    if (done->applied == 0 && done->version > newest) {
        std::printf("schema is current (version %d; this build knows up to %d)\n", done->version,
                    newest);
    } else if (done->applied == 0) {
        std::printf("schema is current (version %d)\n", done->version);
    }
    return 0;
}

} // namespace leadhook::cli
