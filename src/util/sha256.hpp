#pragma once
#include <string>
#include <string_view>

namespace leadhook {

/// The 32 raw bytes of SHA-256(data). Throws std::runtime_error only if
/// OpenSSL itself fails, which means the process cannot continue.
std::string sha256(std::string_view data);

} // namespace leadhook
