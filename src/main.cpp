// leadhook: receives Mailgun webhooks over FastCGI and keeps leads'
// follow-up state in PostgreSQL. This file only parses the command line.
#include "cli/commands.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
    CLI::App cli{"leadhook: Mailgun webhook receiver (FastCGI) that keeps lead state in "
                 "PostgreSQL"};
    cli.require_subcommand(1);
    cli.set_version_flag("--version", std::string("leadhook ") + LEADHOOK_VERSION);
    std::optional<std::string> config_path;
    auto* serve = cli.add_subcommand(
        "serve", "Serve webhooks on the FastCGI socket (SIGHUP reloads keys and policy)");
    auto* reverify = cli.add_subcommand(
        "reverify", "Re-check quarantined requests against the current keys and import those "
                    "that now verify");
    auto* purge = cli.add_subcommand(
        "purge", "Delete ledger tokens past the freshness window and old quarantined requests "
                 "now (serve does it every 10 minutes)");
    for (auto* command : {serve, reverify, purge}) {
        command->add_option("-c,--config", config_path, "TOML config file (see README)")
            ->check(CLI::ExistingFile);
    }
    CLI11_PARSE(cli, argc, argv);
    if (serve->parsed()) {
        return leadhook::cli::serve(config_path);
    }
    if (reverify->parsed()) {
        return leadhook::cli::reverify(config_path);
    }
    if (purge->parsed()) {
        return leadhook::cli::purge(config_path);
    }
    return 0;
}
