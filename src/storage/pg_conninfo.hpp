#pragma once
// A libpq connection string shown to a person: every option libpq would use,
// with the password replaced, so `leadhook check-config` can say where it
// connects without revealing how.
#include "util/expected.hpp"

#include <string>

namespace leadhook::storage {

/// "host=/run/postgresql dbname=leadhook password=(redacted)"; the error is
/// libpq's own message for a malformed URI or conninfo.
Expected<std::string, std::string> redacted_conninfo(const std::string& conninfo);

} // namespace leadhook::storage
