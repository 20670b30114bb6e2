#pragma once
// The configured signing keys and the policy for trying them: every key is
// tried, so keys can overlap during a rotation or serve several accounts, and
// a key past its not_after no longer verifies anything.
#include "mailgun/payload.hpp"
#include "util/clock.hpp"
#include "util/expected.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace leadhook::mailgun {

struct SigningKey {
    std::string secret;
    /// Never empty after config loading: default_label(secret) if none was given.
    std::string label;
    /// Refuse this key for requests received after this instant.
    std::optional<EpochMicros> not_after;
};

/// "sha256:" + first 8 lower-case hex digits of SHA-256(secret): names a key
/// in logs and the database without revealing it.
std::string default_label(std::string_view secret);

/// Which key verified, and whether it was through `parent-signature` only.
struct Verified {
    std::size_t index;
    bool by_parent;
};

enum class VerifyFailure { no_key_matches, key_expired };

struct VerifyError {
    VerifyFailure failure;
    std::string expired_label; ///< for key_expired: the expired key that matched
};

/// Tries every key in order; the first current key that verifies `signature`
/// or `parent-signature` wins (Mailgun also signs subaccount events with the
/// parent account's key). A key is current until `now` passes its not_after.
/// When only expired keys verify, the error names the first of them.
Expected<Verified, VerifyError> verify(const SignatureParams& params,
                                       std::span<const SigningKey> keys, EpochMicros now);

} // namespace leadhook::mailgun
