#pragma once
// The subcommands of the leadhook executable. main.cpp parses the command
// line; these wire config, storage, the FastCGI edge and the core together.
#include <optional>
#include <string>

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

} // namespace leadhook::cli
