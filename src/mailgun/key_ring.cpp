#include "mailgun/key_ring.hpp"

#include "mailgun/signature.hpp"
#include "util/hex.hpp"
#include "util/sha256.hpp"

namespace leadhook::mailgun {

std::string default_label(std::string_view secret) {
    const std::string digest = sha256(secret);
    // 8 hex digits tell keys apart in practice yet say nothing useful about the secret.
    const auto* bytes = reinterpret_cast<const unsigned char*>(digest.data());
    return "sha256:" + to_hex(std::span<const unsigned char>(bytes, 4));
}

Expected<Verified, VerifyError> verify(const SignatureParams& params,
                                       std::span<const SigningKey> keys, EpochMicros now) {
    std::optional<std::size_t> expired_match;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const KeyCheck check = check_key(params, keys[i].secret);
        if (!check.signature && !check.parent_signature) {
            continue;
        }
        if (keys[i].not_after && now > *keys[i].not_after) {
            // Keep looking: a newer key may verify too (parent and subaccount keys).
            expired_match = expired_match.value_or(i);
            continue;
        }
        return Verified{i, !check.signature};
    }
    if (expired_match) {
        return unexpected(VerifyError{VerifyFailure::key_expired, keys[*expired_match].label});
    }
    return unexpected(VerifyError{VerifyFailure::no_key_matches, {}});
}

} // namespace leadhook::mailgun
