#pragma once
// Re-signing a captured webhook for another key (scripts/replay --resign):
// only the timestamp, the token and the signature change, every other byte
// of the body stays. The fields are found by leadhook's own parsers, so a
// replay reads a body exactly as leadhook will.
#include "mailgun/payload.hpp"
#include "util/expected.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leadhook::devtools {

/// The token a replay signs with: the first 50 hex digits of
/// HMAC-SHA256(key, "leadhook-replay\n" + seed + "\n" + timestamp), the seed
/// being the captured token (the body's SHA-256 in hex when it has none).
/// Derived, not random: replaying the same capture twice sends the same
/// bytes, which leadhook's token ledger answers "duplicate".
std::string replay_token(std::string_view key, std::string_view seed, std::string_view timestamp);

struct Resigned {
    std::string body;
    mailgun::SignatureParams fields; ///< what it is signed with now (no parent-signature)
};

/// `body` signed with `key` at `timestamp` (nullopt: the captured one, else
/// `now_seconds`), or why leadhook would refuse the body. Fields a body
/// lacks are added.
Expected<Resigned, std::string> resign(std::string_view content_type, std::string_view body,
                                       std::string_view key,
                                       const std::optional<std::string>& timestamp,
                                       std::int64_t now_seconds);

} // namespace leadhook::devtools
