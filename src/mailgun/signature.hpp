#pragma once
// Mailgun's webhook signature: HMAC-SHA256 keyed with the signing key over
// timestamp followed by token, sent as hex. It does not cover the body.
// Which keys to try, and when a key has expired, is key_ring.hpp's business.
#include "mailgun/payload.hpp"

#include <string>
#include <string_view>

namespace leadhook::mailgun {

/// Lower-case hex HMAC-SHA256(key, timestamp + token). Throws std::runtime_error
/// only if OpenSSL itself fails, which means the process cannot continue.
std::string sign(std::string_view key, std::string_view timestamp, std::string_view token);

/// Which of the two signatures one key verifies.
struct KeyCheck {
    bool signature = false;        ///< the account's own `signature`
    bool parent_signature = false; ///< `parent-signature`, when the body has one
};

/// Computes the MAC once and compares it with both signatures. Hex of either
/// case is accepted; bytes are compared in constant time.
KeyCheck check_key(const SignatureParams& params, std::string_view key);

} // namespace leadhook::mailgun
