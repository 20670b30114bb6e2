#include "mailgun/signature.hpp"

#include "util/hex.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <climits>
#include <stdexcept>
#include <string>

namespace leadhook::mailgun {
namespace {

using Mac = std::array<unsigned char, 32>;

Mac hmac_sha256(std::string_view key, std::string_view timestamp, std::string_view token) {
    if (key.size() > static_cast<std::size_t>(INT_MAX)) {
        throw std::runtime_error("signing key too long");
    }
    std::string message;
    message.reserve(timestamp.size() + token.size());
    message.append(timestamp).append(token);
    Mac mac{};
    unsigned int mac_len = 0;
    const unsigned char* done = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), mac.data(), &mac_len);
    if (done == nullptr || mac_len != mac.size()) {
        throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
    }
    return mac;
}

bool matches(std::string_view hex_signature, const Mac& expected) {
    auto received = from_hex(hex_signature);
    if (!received || received->size() != expected.size()) {
        return false;
    }
    return CRYPTO_memcmp(received->data(), expected.data(), expected.size()) == 0;
}

} // namespace

std::string sign(std::string_view key, std::string_view timestamp, std::string_view token) {
    return to_hex(hmac_sha256(key, timestamp, token));
}

KeyCheck check_key(const SignatureParams& params, std::string_view key) {
    const Mac mac = hmac_sha256(key, params.timestamp, params.token);
    return KeyCheck{matches(params.signature, mac),
                    !params.parent_signature.empty() && matches(params.parent_signature, mac)};
}

} // namespace leadhook::mailgun
