#pragma once
// The subcommands of the leadhook executable. main.cpp parses the command
// line; these wire config, storage, the FastCGI edge and the core together.
#include <functional>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace leadhook::cli {

/// Serves webhooks until SIGTERM or SIGINT; SIGHUP reloads keys and policy.
int serve(const std::optional<std::string>& config_path);

/// Validates the configuration and prints it with secrets redacted; 2 if invalid.
int check_config(const std::optional<std::string>& config_path);

/// Re-checks the quarantine against the current keys and imports what now verifies.
int reverify(const std::optional<std::string>& config_path);

/// Runs the housekeeping purge once, now, and says what it removed (with
/// dry_run: what it would remove). Exit 0, 1 on a database error, 2 on a
/// configuration error; 0 too when another purge was running (it does the work).
int purge(const std::optional<std::string>& config_path, bool dry_run);

/// `leadhook report`'s own options, as typed; report() validates them.
struct ReportOptions {
    std::string kind; ///< leads, daily or suppress; may be empty with html
    std::optional<std::string> from, to, status, domain, format, html;
};

/// Adds the `report` subcommand and its options to `cli`, filling `options`.
CLI::App* add_report_command(CLI::App& cli, ReportOptions& options);

/// Prints a report (leads, daily, suppress) as a table, CSV or JSON, and/or
/// writes the HTML page. Reads only database_url, like migrate. Exit 0, 1 on
/// a database or output error, 2 on a usage or configuration error.
int report(const std::optional<std::string>& config_path, const ReportOptions& options);

/// Adds `leadhook sign`'s options to its subcommand; the returned function
/// runs it once the command line is parsed: prints a signed test webhook, or
/// a curl command posting it. Exit 0, 1 on an output error, 2 on a usage error.
std::function<int()> sign_command(CLI::App& command);

/// Adds `leadhook read-capture`'s options; the returned function prints one
/// JSON line per capture file (re-signed with --resign) for scripts/replay.
/// Exit 0, 1 on an output error, 2 on a usage error.
std::function<int()> read_capture_command(CLI::App& command);

/// Adds `leadhook backfill`'s options; the returned function runs it:
/// events from Mailgun's API stored as their webhooks would have been, the
/// reconciliation report (--dry-run), the suppression lists. Exit 0, 1 on an
/// API or database failure, 2 on a usage error or a refused key, 130 when
/// interrupted.
std::function<int()> backfill_command(CLI::App& command);

} // namespace leadhook::cli
