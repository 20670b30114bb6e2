#pragma once
// SQLSTATE classes decide whether a failure is the database being away
// (answer 503, Mailgun retries) or something that retrying will not fix.
#include "storage/event_store.hpp"

#include <string_view>

namespace leadhook::storage {

/// Classifies a five-character SQLSTATE; an empty one means libpq lost the
/// connection before the server could say anything.
StoreFailure classify_sqlstate(std::string_view sqlstate);

} // namespace leadhook::storage
