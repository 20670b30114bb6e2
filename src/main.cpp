// leadhook: receives Mailgun webhooks over FastCGI and keeps leads'
// follow-up state in PostgreSQL. This file only parses the command line.
#include "cli/commands.hpp"
#include "cli/migrate.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <map>

namespace {

/// Flags that override the config file and the environment. They are put
/// into the environment before anything reads it, so every command, and a
/// SIGHUP reload, sees them exactly as it sees LEADHOOK_* variables.
struct Overrides {
    std::map<std::string, std::string> values; ///< variable -> value

    void add_database_url_to(CLI::App& command) {
        command.add_option_function<std::string>(
            "--database-url", [this](const std::string& v) { values["LEADHOOK_DATABASE_URL"] = v; },
            "libpq URI or conninfo (LEADHOOK_DATABASE_URL)");
    }

    void add_to(CLI::App& command) {
        command.add_option_function<std::string>(
            "--listen", [this](const std::string& v) { values["LEADHOOK_LISTEN"] = v; },
            "FastCGI socket: unix:/path or host:port (LEADHOOK_LISTEN)");
        command.add_option_function<std::string>(
            "--database-url", [this](const std::string& v) { values["LEADHOOK_DATABASE_URL"] = v; },
            "libpq URI or conninfo (LEADHOOK_DATABASE_URL)");
        command.add_option_function<std::string>(
            "--signing-key-file",
            [this](const std::string& v) { values["LEADHOOK_SIGNING_KEY_FILE"] = v; },
            "signing keys, one entry per line (LEADHOOK_SIGNING_KEY_FILE)");
        command.add_option_function<std::string>(
            "--threads", [this](const std::string& v) { values["LEADHOOK_THREADS"] = v; },
            "worker threads (LEADHOOK_THREADS)");
    }

    bool apply() const {
        for (const auto& [name, value] : values) {
            if (setenv(name.c_str(), value.c_str(), 1) != 0) {
                return false;
            }
        }
        return true;
    }
};

} // namespace

int main(int argc, char** argv) {
    CLI::App cli{"leadhook: Mailgun webhook receiver (FastCGI) that keeps lead state in "
                 "PostgreSQL. Settings come from --config FILE, then LEADHOOK_* variables, "
                 "then these flags (see docs/operations.md)."};
    cli.require_subcommand(1);
    cli.set_version_flag("--version", std::string("leadhook ") + LEADHOOK_VERSION);
    std::optional<std::string> config_path;
    Overrides overrides;
    auto* serve = cli.add_subcommand(
        "serve", "Serve webhooks on the FastCGI socket (SIGHUP reloads keys and policy)");
    auto* check = cli.add_subcommand(
        "check-config", "Validate the configuration and print it, secrets redacted; exit 2 "
                        "when invalid");
    auto* reverify = cli.add_subcommand(
        "reverify", "Re-check quarantined requests against the current keys and import those "
                    "that now verify");
    auto* purge = cli.add_subcommand(
        "purge", "Remove what is past retention now: ledger tokens, quarantined requests, "
                 "event payloads, event-log months (serve does it every 10 minutes)");
    bool dry_run = false;
    purge->add_flag("-n,--dry-run", dry_run, "Count and list what would go; change nothing");
    auto* migrate = cli.add_subcommand(
        "migrate", "Apply the schema migrations built into this binary, under an advisory lock; "
                   "exit 1 on a database error, 2 on a configuration error");
    leadhook::cli::ReportOptions report_options;
    auto* report = leadhook::cli::add_report_command(cli, report_options);
    auto* sign = cli.add_subcommand(
        "sign", "Print a correctly signed Mailgun test webhook (any event, json/form/multipart), "
                "or a curl command that posts it; exit 2 on a usage error");
    const auto run_sign = leadhook::cli::sign_command(*sign);
    auto* read_capture = cli.add_subcommand(
        "read-capture", "Read capture files, re-signed with --resign, as JSON lines for "
                        "scripts/replay; exit 2 on a usage error");
    const auto run_read_capture = leadhook::cli::read_capture_command(*read_capture);
    auto* backfill = cli.add_subcommand(
        "backfill", "Fetch events Mailgun still holds (Logs or Events API) and store them as "
                    "their webhooks would have been; --dry-run compares instead; "
                    "--suppressions imports Mailgun's suppression lists");
    const auto run_backfill = leadhook::cli::backfill_command(*backfill);
    overrides.add_database_url_to(*backfill);
    for (auto* command : {serve, check, reverify, purge, migrate, report}) {
        command->add_option("-c,--config", config_path, "TOML config file (see docs/operations.md)")
            ->envname("LEADHOOK_CONFIG")
            ->check(CLI::ExistingFile);
        overrides.add_to(*command);
    }
    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int status = cli.exit(e); // prints the help, the version or the error
        return status == 0 ? 0 : 2;     // every usage error exits 2
    }
    if (!overrides.apply()) {
        std::perror("leadhook: setenv");
        return 2;
    }
    if (sign->parsed()) {
        return run_sign();
    }
    if (read_capture->parsed()) {
        return run_read_capture();
    }
    if (backfill->parsed()) {
        return run_backfill();
    }
    if (serve->parsed()) {
        return leadhook::cli::serve(config_path);
    }
    if (check->parsed()) {
        return leadhook::cli::check_config(config_path);
    }
    if (reverify->parsed()) {
        return leadhook::cli::reverify(config_path);
    }
    if (purge->parsed()) {
        return leadhook::cli::purge(config_path, dry_run);
    }
    if (migrate->parsed()) {
        return leadhook::cli::migrate(config_path);
    }
    if (report->parsed()) {
        return leadhook::cli::report(config_path, report_options);
    }
    return 0;
}
