#pragma once
// Mailgun's webhook signature: HMAC-SHA256 keyed with the signing key over
// timestamp followed by token, sent as hex. It does not cover the body.
#include "mailgun/payload.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace leadhook::mailgun {

/// Lower-case hex HMAC-SHA256(key, timestamp + token). Throws std::runtime_error
/// only if OpenSSL itself fails, which means the process cannot continue.
std::string sign(std::string_view key, std::string_view timestamp, std::string_view token);

/// Index of a key that verifies `signature` (or `parent-signature`, which
/// Mailgun computes with the parent account's key for subaccount events).
/// Hex of either case is accepted; bytes are compared in constant time.
std::optional<std::size_t> verify(const SignatureParams& params, std::span<const std::string> keys);

} // namespace leadhook::mailgun
