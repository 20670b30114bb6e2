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

/// Runs the housekeeping purge once, now, and says what it removed.
int purge(const std::optional<std::string>& config_path);

} // namespace leadhook::cli
