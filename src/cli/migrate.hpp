#pragma once
// `leadhook migrate`: brings the database's schema up to this build's (the
// sql/ files embedded at build time). Kept apart from commands.hpp, which
// other commands share.
#include "util/expected.hpp"

#include <optional>
#include <string>

namespace leadhook::cli {

/// Applies the migrations the database lacks, one line per migration, or
/// says the schema is current. Reads only database_url from the config file
/// and LEADHOOK_DATABASE_URL: no signing key is needed. Exit status 0 done,
/// 1 database error (including an edited migration), 2 configuration error.
int migrate(const std::optional<std::string>& config_path);

/// database_url from the config file, then the environment, checked; the
/// message says what is wrong. Unlike load_config, no signing key is
/// required: migrate and report run as deploy steps or by other users, and
/// touch no webhook.
Expected<std::string, std::string> database_url_only(const std::optional<std::string>& path);

} // namespace leadhook::cli
