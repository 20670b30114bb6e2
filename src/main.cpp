// leadhook: receives Mailgun webhooks over FastCGI and keeps leads'
// follow-up state in PostgreSQL. This file only wires the parts together.
#include "app/app.hpp"
#include "config/config.hpp"
#include "fcgi/fcgi_server.hpp"
#include "storage/pg_event_store.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <memory>
#include <pthread.h>
#include <thread>

namespace {

using namespace leadhook;

/// Blocks the stop signals in this thread and every thread it starts, so
/// that only the sigwait() in wait_for_stop() ever sees them.
sigset_t block_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN); // a vanished client is a write error, not a death
    return set;
}

int wait_for_stop(const sigset_t& set) {
    int signal = 0;
    while (sigwait(&set, &signal) != 0) {
    }
    return signal;
}

int serve(const std::optional<std::string>& config_path) {
    SystemClock clock;
    obs::Logger log(stderr, clock);
    auto config = config::load_config(config_path, config::process_env());
    if (!config) {
        std::fprintf(stderr, "leadhook: %s\n", config.error().message.c_str());
        return 2;
    }
    const sigset_t stop_signals = block_stop_signals();
    fcgi::ServerOptions options{config->listen, config->socket_mode, config->threads,
                                config->max_body_bytes};
    auto server = fcgi::FcgiServer::open(options, log, clock);
    if (!server) {
        std::fprintf(stderr, "leadhook: %s\n", server.error().c_str());
        return 1;
    }
    log.write("info", {{"msg", "leadhook serving"}, {"config", config::describe(*config)}});
    const auto& keys = config->signing_keys;
    const auto make_handler = [&]() -> fcgi::Handler {
        auto store = std::make_shared<storage::PgEventStore>(config->database_url);
        if (auto error = store->connect()) {
            log.write("warn", {{"msg", "database not reachable yet; will retry per request"},
                               {"error", error->message}});
        }
        auto app = std::make_shared<app::App>(keys, *store, log);
        return [store, app](const http::Request& request) { return app->handle(request); };
    };
    std::thread waiter([&] {
        const int signal = wait_for_stop(stop_signals);
        log.write("info", {{"msg", "stopping: finishing in-flight requests"},
                           {"signal", strsignal(signal)}});
        server->stop();
    });
    const auto served = server->serve(make_handler);
    waiter.join();
    log.write("info", {{"msg", "leadhook stopped"}, {"requests", std::to_string(served)}});
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App cli{"leadhook: Mailgun webhook receiver (FastCGI) that keeps lead state in "
                 "PostgreSQL"};
    cli.require_subcommand(1);
    cli.set_version_flag("--version", std::string("leadhook ") + LEADHOOK_VERSION);
    std::optional<std::string> config_path;
    auto* serve_cmd = cli.add_subcommand("serve", "Serve webhooks on the FastCGI socket");
    serve_cmd->add_option("-c,--config", config_path, "TOML config file (see README)")
        ->check(CLI::ExistingFile);
    CLI11_PARSE(cli, argc, argv);
    if (serve_cmd->parsed()) {
        return serve(config_path);
    }
    return 0;
}
