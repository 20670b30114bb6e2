#include "cli/signing_key.hpp"

#include "config/config.hpp"
#include "devtools/sign_builder.hpp"

namespace leadhook::cli {

Expected<std::string, std::string> first_key_in_file(const std::string& path, EpochMicros now) {
    auto text = config::read_text_file(path);
    if (!text) {
        return unexpected(path + ": cannot read the signing key file");
    }
    auto keys = config::parse_key_file(*text, path);
    if (!keys) {
        return unexpected(keys.error().message);
    }
    const mailgun::SigningKey* key = devtools::first_usable_key(*keys, now);
    if (key == nullptr) {
        return unexpected(path + ": no usable signing key (none, or all past their not_after)");
    }
    return key->secret;
}

} // namespace leadhook::cli
