#pragma once
// The key a tool signs with when given a key file: its first entry not past
// its not_after (leadhook's signing_key_file format). `leadhook sign` and
// `leadhook read-capture` share it.
#include "util/clock.hpp"
#include "util/expected.hpp"

#include <string>

namespace leadhook::cli {

/// The first usable key of the file at `path`, or a message naming the file
/// (never the key).
Expected<std::string, std::string> first_key_in_file(const std::string& path, EpochMicros now);

} // namespace leadhook::cli
