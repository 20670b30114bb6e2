#include "util/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace leadhook {

std::string sha256(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1 ||
        size != 32) {
        throw std::runtime_error("OpenSSL SHA-256 failed");
    }
    return std::string(reinterpret_cast<const char*>(digest), size);
}

} // namespace leadhook
