#include "app/app.hpp"
#include "capture/capture.hpp"
#include "cli/allocator.hpp"
#include "cli/commands.hpp"
#include "cli/housekeeping.hpp"
#include "cli/systemd.hpp"
#include "config/config.hpp"
#include "fcgi/fcgi_server.hpp"
#include "storage/pg_event_store.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
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

/// libpq's notices (a server shutting down says FATAL to every idle
/// connection) as log lines with a level, for as long as this lives: the
/// connections it reports for must be gone first.
class NoticesToLog {
  public:
    explicit NoticesToLog(obs::Logger& log) {
        storage::set_notice_handler([&log](const storage::ServerNotice& notice) {
            const std::string_view s = notice.severity;
            const char* level = s == "WARNING"                                 ? "warn"
                                : s == "ERROR" || s == "FATAL" || s == "PANIC" ? "error"
                                                                               : "info";
            log.write(level, {{"msg", "PostgreSQL: " + std::string(notice.message)},
                              {"severity", std::string(s)},
                              {"sqlstate", std::string(notice.sqlstate)}});
        });
    }
    ~NoticesToLog() { storage::set_notice_handler(nullptr); }
    NoticesToLog(const NoticesToLog&) = delete;
    NoticesToLog& operator=(const NoticesToLog&) = delete;
};

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
    note(running.writers != next.writers, "writers");
    note(running.batch_max_events != next.batch_max_events, "batch_max_events");
    note(running.max_body_bytes != next.max_body_bytes, "max_body_bytes");
    note(running.max_json_body_bytes != next.max_json_body_bytes, "max_json_body_bytes");
    note(running.max_bytes_in_flight != next.max_bytes_in_flight, "max_bytes_in_flight");
    note(running.read_timeout_seconds != next.read_timeout_seconds, "read_timeout_seconds");
    note(running.min_read_bytes_per_second != next.min_read_bytes_per_second,
         "min_read_bytes_per_second");
    note(running.max_params_bytes != next.max_params_bytes, "max_params_bytes");
    note(running.max_param_bytes != next.max_param_bytes, "max_param_bytes");
    note(running.database_url != next.database_url, "database_url");
    note(running.drain_timeout_seconds != next.drain_timeout_seconds, "drain_timeout_seconds");
    return changed;
}

/// SIGHUP: re-read the config file, environment and key file. A bad new
/// config changes nothing; requests in flight keep their snapshot. Returns
/// why the new config was refused (never quoting a key), if it was.
std::optional<std::string> reload(const std::optional<std::string>& path,
                                  const config::Config& running, app::SettingsHolder& settings,
                                  obs::Metrics& metrics, obs::Logger& log, const Clock& clock) {
    auto next = config::load_config(path, config::process_env());
    if (!next) {
        metrics.count_reload(false);
        log.write("error", {{"msg", "reload failed; keeping the current keys and policy"},
                            {"error", next.error().message}});
        return next.error().message;
    }
    log_warnings(log, *next, clock.now());
    if (auto changed = restart_only_changes(running, *next); !changed.empty()) {
        log.write("warn", {{"msg", "reload: these settings change only on restart"},
                           {"settings", changed}});
    }
    settings.set(app::settings_from(*next));
    metrics.count_reload(true);
    log.write("info", {{"msg", "reloaded"}, {"config", config::describe(*next)}});
    return std::nullopt;
}

/// What the signal thread needs: everything a reload touches, and the server to stop.
struct Running {
    const std::optional<std::string>& config_path;
    const config::Config& config;
    app::SettingsHolder& settings;
    obs::Metrics& metrics;
    obs::Logger& log;
    const Clock& clock;
    Notifier& notify;
    fcgi::FcgiServer& server;
    std::string status; ///< systemd's STATUS= while serving
};

/// The signal thread: SIGHUP reloads, SIGTERM or SIGINT stops the server.
void handle_signals(const sigset_t& signals, Running& run) {
    // Numbered, so that each reload changes STATUS= and whoever sent the
    // SIGHUP (deploy/systemd/leadhook-reload) can tell when it is done.
    std::uint64_t reloads = 0;
    for (;;) {
        const int signal = wait_for_signal(signals);
        if (signal == SIGHUP) {
            run.notify.reloading();
            const auto failed =
                reload(run.config_path, run.config, run.settings, run.metrics, run.log, run.clock);
            const std::string reload_no = "; reload " + std::to_string(++reloads);
            run.notify.reloaded(failed ? run.status + reload_no + " failed: " + *failed
                                       : run.status + reload_no + " applied");
            continue;
        }
        run.log.write(
            "info", {{"msg", "stopping: finishing in-flight requests"},
                     {"signal", strsignal(signal)},
                     {"drain_timeout_seconds", std::to_string(run.config.drain_timeout_seconds)}});
        run.notify.stopping("stopping: finishing in-flight requests");
        run.server.stop();
        return;
    }
}

fcgi::ServerOptions server_options(const config::Config& config, obs::Metrics& metrics) {
    return {
        .listen = config.listen,
        .socket_mode = config.socket_mode,
        .threads = config.threads,
        .max_body_bytes = config.max_body_bytes,
        .max_json_body_bytes = config.max_json_body_bytes,
        .max_bytes_in_flight = config.max_bytes_in_flight,
        .protocol = {.max_params_bytes = config.max_params_bytes,
                     .max_param_bytes = config.max_param_bytes,
                     .max_requests = config.threads},
        .reads = {.timeout = std::chrono::seconds(config.read_timeout_seconds),
                  .min_bytes_per_second = config.min_read_bytes_per_second},
        .drain_timeout = std::chrono::seconds(config.drain_timeout_seconds),
        .connections = {.accepted = [&metrics] { metrics.count_connection_accepted(); },
                        .idle_now = [&metrics](std::size_t n) { metrics.set_idle_connections(n); },
                        .overdue = [&metrics] { metrics.count_connection_overdue(); }},
        .after_large_body = release_free_memory};
}

/// The group-commit writers, each with its own database connection.
storage::BatchWriterOptions writer_options(const config::Config& config, obs::Metrics& metrics,
                                           const Clock& clock) {
    return {.max_batch = static_cast<std::size_t>(config.batch_max_events),
            .on_batch = [&metrics, &clock](const storage::BatchReport& batch) {
                metrics.observe_batch(batch.events);
                metrics.count_db_reconnects(batch.reconnects);
                metrics.note_database_reached(batch.reached_database, clock.now());
            }};
}
std::vector<std::unique_ptr<storage::BatchSink>> writer_sinks(const config::Config& config,
                                                              obs::Logger& log) {
    std::vector<std::unique_ptr<storage::BatchSink>> sinks;
    bool warned = false;
    for (int i = 0; i < config.writers; ++i) {
        auto store = std::make_unique<storage::PgEventStore>(config.database_url);
        if (auto error = store->connect(); error && !warned) {
            log.write("warn", {{"msg", "database not reachable yet; will retry per request"},
                               {"error", error->message}});
            warned = true;
        }
        sinks.push_back(std::move(store));
    }
    return sinks;
}

/// Each worker gets an App; events go to the shared group-commit writer,
/// quarantine and readiness to the shared store. Capture mode, when on,
/// writes each request down before the App sees it.
fcgi::HandlerFactory handler_factory(app::SettingsHolder& settings, obs::Metrics& metrics,
                                     obs::Logger& log, capture::Capture& capture,
                                     storage::BatchWriter& writer, storage::SharedStore& shared) {
    return [&settings, &metrics, &log, &capture, &writer, &shared]() -> fcgi::Handler {
        auto store = std::make_shared<storage::GroupCommitStore>(writer, shared);
        auto app = std::make_shared<app::App>(settings, *store, log, metrics);
        return [store, app, &capture, &settings](const http::Request& request) {
            const auto snapshot = settings.get();
            if (!snapshot->capture.dir.empty() && app::worth_capturing(request.path)) {
                capture.record(request, snapshot->capture);
            }
            return app->handle(request);
        };
    };
}

/// Joins the signal thread, which returns after a stop signal; if the
/// workers died instead, it is still waiting for one, so it gets one.
void end_signal_thread(std::thread& signal_thread, const fcgi::ServeResult& result,
                       obs::Logger& log) {
    if (!result.stopped) {
        log.error("every worker exited; stopping");
        if (const int error = pthread_kill(signal_thread.native_handle(), SIGTERM); error != 0) {
            log.write("error", {{"msg", "cannot wake the signal thread; exiting"},
                                {"error", std::strerror(error)}});
            std::_Exit(1);
        }
    }
    signal_thread.join();
}

/// The drain timed out. The workers still running use the server, the
/// handlers and everything on serve()'s stack, so nothing may be destroyed:
/// say so and leave at once. Their transactions roll back when PostgreSQL
/// sees the connections close, and nginx answers 502, which Mailgun retries.
[[noreturn]] void abandon(obs::Logger& log, Notifier& notify, const fcgi::ServeResult& result,
                          int drain_timeout_seconds) {
    log.write("error", {{"msg", "drain timed out; abandoning the requests still in flight"},
                        {"in_flight", std::to_string(result.abandoned)},
                        {"workers", std::to_string(result.workers_left)},
                        {"drain_timeout_seconds", std::to_string(drain_timeout_seconds)}});
    notify.status("drain timed out with " + std::to_string(result.abandoned) +
                  " requests in flight");
    std::_Exit(1);
}

} // namespace

int serve(const std::optional<std::string>& config_path) {
    // First, so that a SIGHUP during start-up waits for the signal thread
    // instead of killing the process (its default action).
    const sigset_t signals = block_control_signals();
    SystemClock clock;
    obs::Logger log(stderr, clock, stderr_line_prefix());
    const NoticesToLog notices(log);
    bound_allocator_caches(log);
    auto config = config::load_config(config_path, config::process_env());
    if (!config) {
        std::fprintf(stderr, "leadhook: %s\n", config.error().message.c_str());
        return 2;
    }
    log_warnings(log, *config, clock.now());
    obs::Metrics metrics; // before the server, which reports its connections to it
    auto server = fcgi::FcgiServer::open(server_options(*config, metrics), log, clock);
    if (!server) {
        std::fprintf(stderr, "leadhook: %s\n", server.error().c_str());
        return 1;
    }
    // `socket` is what is really served (systemd's socket overrides `listen`).
    log.write("info", {{"msg", "leadhook serving"},
                       {"socket", server->description()},
                       {"config", config::describe(*config)}});
    Notifier notify(log);
    app::SettingsHolder settings(app::settings_from(*config));
    Housekeeping housekeeping({.database_url = config->database_url}, settings, metrics, log,
                              clock);
    const std::string status = "serving on " + server->description() + ", " +
                               std::to_string(config->threads) + " workers, " +
                               std::to_string(config->writers) + " writers";
    Running running{config_path, *config, settings, metrics, log, clock, notify, *server, status};
    std::thread signal_thread([&] { handle_signals(signals, running); });
    std::optional<Watchdog> watchdog; // from READY on: start-up has TimeoutStartSec=
    capture::Capture capture(settings.get()->capture, log);
    // Both outlive the workers: the writer's destructor stops the writers
    // once the workers are gone.
    storage::SharedStore shared(std::make_unique<storage::PgEventStore>(config->database_url),
                                [&metrics](std::uint64_t n) { metrics.count_db_reconnects(n); });
    storage::BatchWriter writer(writer_sinks(*config, log),
                                writer_options(*config, metrics, clock));
    const auto make_handler = handler_factory(settings, metrics, log, capture, writer, shared);
    const auto result = server->serve(make_handler, [&] {
        notify.ready(status);
        watchdog.emplace(log, [&](std::chrono::microseconds interval) {
            // Idle workers report progress every second: a shorter
            // window would call a healthy server stuck.
            return server->making_progress(
                std::max<std::chrono::microseconds>(interval, std::chrono::seconds(2)));
        });
    });
    end_signal_thread(signal_thread, result, log);
    if (result.workers_left > 0) {
        abandon(log, notify, result, config->drain_timeout_seconds);
    }
    log.write("info", {{"msg", "leadhook stopped"}, {"requests", std::to_string(result.served)}});
    return result.stopped ? 0 : 1;
}

} // namespace leadhook::cli
