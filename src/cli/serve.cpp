#include "app/app.hpp"
#include "cli/commands.hpp"
#include "cli/housekeeping.hpp"
#include "config/config.hpp"
#include "fcgi/fcgi_server.hpp"
#include "storage/pg_event_store.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <pthread.h>
#include <thread>

namespace leadhook::cli {
namespace {

/// Blocks the control signals in this thread and every thread it starts, so
/// that only the sigwait() in the signal thread ever sees them.
sigset_t block_control_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN); // a vanished client is a write error, not a death
    return set;
}

int wait_for_signal(const sigset_t& set) {
    int signal = 0;
    while (sigwait(&set, &signal) != 0) {
    }
    return signal;
}

void log_warnings(obs::Logger& log, const config::Config& config, EpochMicros now) {
    for (const auto& warning : config.warnings) {
        log.write("warn", {{"msg", warning}});
    }
    for (const auto& warning : config::key_warnings(config, now)) {
        log.write("warn", {{"msg", warning}});
    }
}

/// Settings that only a restart applies; a reload that changes them says so.
std::string restart_only_changes(const config::Config& running, const config::Config& next) {
    std::string changed;
    const auto note = [&](bool differs, const char* name) {
        if (differs) {
            changed += changed.empty() ? name : std::string(", ") + name;
        }
    };
    note(running.listen != next.listen, "listen");
    note(running.socket_mode != next.socket_mode, "socket_mode");
    note(running.threads != next.threads, "threads");
    note(running.max_body_bytes != next.max_body_bytes, "max_body_bytes");
    note(running.database_url != next.database_url, "database_url");
    return changed;
}

/// SIGHUP: re-read the config file, environment and key file. A bad new
/// config changes nothing; requests in flight keep their snapshot.
void reload(const std::optional<std::string>& path, const config::Config& running,
            app::SettingsHolder& settings, obs::Metrics& metrics, obs::Logger& log,
            const Clock& clock) {
    auto next = config::load_config(path, config::process_env());
    if (!next) {
        metrics.count_reload(false);
        log.write("error", {{"msg", "reload failed; keeping the current keys and policy"},
                            {"error", next.error().message}});
        return;
    }
    log_warnings(log, *next, clock.now());
    if (auto changed = restart_only_changes(running, *next); !changed.empty()) {
        log.write("warn", {{"msg", "reload: these settings change only on restart"},
                           {"settings", changed}});
    }
    settings.set(app::settings_from(*next));
    metrics.count_reload(true);
    log.write("info", {{"msg", "reloaded"}, {"config", config::describe(*next)}});
}

} // namespace

int serve(const std::optional<std::string>& config_path) {
    // First, so that a SIGHUP during start-up waits for the signal thread
    // instead of killing the process (its default action).
    const sigset_t signals = block_control_signals();
    SystemClock clock;
    obs::Logger log(stderr, clock);
    auto config = config::load_config(config_path, config::process_env());
    if (!config) {
        std::fprintf(stderr, "leadhook: %s\n", config.error().message.c_str());
        return 2;
    }
    log_warnings(log, *config, clock.now());
    fcgi::ServerOptions options{config->listen, config->socket_mode, config->threads,
                                config->max_body_bytes};
    auto server = fcgi::FcgiServer::open(options, log, clock);
    if (!server) {
        std::fprintf(stderr, "leadhook: %s\n", server.error().c_str());
        return 1;
    }
    log.write("info", {{"msg", "leadhook serving"}, {"config", config::describe(*config)}});
    app::SettingsHolder settings(app::settings_from(*config));
    obs::Metrics metrics;
    const auto make_handler = [&]() -> fcgi::Handler {
        auto store = std::make_shared<storage::PgEventStore>(config->database_url);
        if (auto error = store->connect()) {
            log.write("warn", {{"msg", "database not reachable yet; will retry per request"},
                               {"error", error->message}});
        }
        auto app = std::make_shared<app::App>(settings, *store, log, metrics);
        return [store, app](const http::Request& request) { return app->handle(request); };
    };
    Housekeeping housekeeping({.database_url = config->database_url,
                               .quarantine_retention_days = config->quarantine_retention_days},
                              settings, metrics, log, clock);
    std::thread signal_thread([&] {
        for (;;) {
            const int signal = wait_for_signal(signals);
            if (signal == SIGHUP) {
                reload(config_path, *config, settings, metrics, log, clock);
                continue;
            }
            log.write("info", {{"msg", "stopping: finishing in-flight requests"},
                               {"signal", strsignal(signal)}});
            server->stop();
            return;
        }
    });
    const auto served = server->serve(make_handler);
    signal_thread.join();
    log.write("info", {{"msg", "leadhook stopped"}, {"requests", std::to_string(served)}});
    return 0;
}

} // namespace leadhook::cli
