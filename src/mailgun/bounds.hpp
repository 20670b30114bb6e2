#pragma once
// How long Mailgun's values can be. A longer one can never be a Mailgun
// webhook: the request is refused (406) before it costs the database
// anything, instead of failing there on every retry (a token past
// PostgreSQL's index row size answered 500 for as long as Mailgun retried).
#include "mailgun/event.hpp"
#include "mailgun/payload.hpp"

#include <cstddef>
#include <optional>
#include <string>

namespace leadhook::mailgun {

/// Mailgun's token is 50 characters; its timestamp whole seconds.
inline constexpr std::size_t max_token_bytes = 256;
inline constexpr std::size_t max_timestamp_bytes = 20;
/// HMAC-SHA256 in hex is 64 characters.
inline constexpr std::size_t max_signature_bytes = 64;
/// Stored and looked up by: Mailgun's event id (22 characters), the
/// Message-Id (a header line is at most 998 bytes), the recipient.
inline constexpr std::size_t max_key_field_bytes = 998;
/// Any other text of the event (an MTA's reply, a URL, a user agent).
inline constexpr std::size_t max_text_field_bytes = 65536;

/// Why the signature triple cannot be Mailgun's, if it cannot.
std::optional<std::string> oversized(const SignatureParams& signature);

/// Why the event cannot be Mailgun's, if a field is too long to be.
std::optional<std::string> oversized(const Event& event);

} // namespace leadhook::mailgun
