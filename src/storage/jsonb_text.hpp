#pragma once
// The JSON text of a jsonb value (an event's payload, user variables, tags),
// written straight into one string with no second tree, as nlohmann's
// compact dump() writes it. Strings (keys too) are made storable on the way
// out: each invalid UTF-8 sequence and each NUL becomes U+FFFD
// (to_storable_utf8's rule), since jsonb rejects both.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace leadhook::storage {

std::string jsonb_text(const nlohmann::json& value);
/// A JSON array of strings.
std::string jsonb_text(const std::vector<std::string>& strings);

} // namespace leadhook::storage
