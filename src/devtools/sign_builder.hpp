#pragma once
// `leadhook sign`: a Mailgun webhook of any event type in any of the three
// body formats, shaped like Mailgun's own posts (tests/data/mailgun), signed
// by the same code that verifies requests (mailgun/signature.hpp). Pure: the
// clock and the randomness are injected, so tests get the same bytes twice.
//
// Event names and formats (a combination Mailgun never sent is refused):
//
//   name                      json                           form, multipart
//   delivered, opened,        the same event                 the same event
//   clicked, unsubscribed,
//   complained
//   bounced                   failed, permanent, bounce      bounced
//   dropped                   failed, permanent,             dropped, reason hardfail
//                             suppress-bounce
//   failed, permanent_fail    failed, permanent, bounce      refused: bounced or dropped
//   failed --severity temporary, temporary_fail, deferred
//                             failed, temporary, generic     refused: never posted
//   accepted, rejected        the same event                 refused: never posted
#include "mailgun/event.hpp"
#include "mailgun/key_ring.hpp"
#include "util/clock.hpp"
#include "util/expected.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leadhook::devtools {

/// `count` random bytes; injected so that tests are deterministic.
using RandomBytes = std::function<std::string(std::size_t count)>;

/// OpenSSL's RAND_bytes; throws std::runtime_error if it fails.
RandomBytes system_random();

/// What to build. Optional fields left empty get realistic defaults; an
/// option that the event type does not carry is refused, not ignored.
struct SignRequest {
    std::string event; ///< one of event_names()
    mailgun::BodyFormat format = mailgun::BodyFormat::json;
    std::string recipient;
    std::string message_id;              ///< angle brackets optional; empty: a fresh one
    std::optional<std::string> severity; ///< `failed` only: permanent (default) or temporary
    std::optional<std::string> reason;   ///< failures, and rejected's reject.reason
    std::optional<std::string> code;     ///< failures: SMTP or Mailgun code
    std::optional<std::string> ip;       ///< opened, clicked, unsubscribed
    std::optional<std::string> url;      ///< clicked
    std::vector<std::string> tags;
    std::vector<std::pair<std::string, std::string>> variables; ///< user variables, in order
    std::optional<std::string> timestamp;                       ///< whole Unix seconds; default now
    std::optional<std::string> token;                           ///< default 50 random hex digits
    std::optional<std::string> event_id; ///< json only; default 22 random characters
};

struct SignedWebhook {
    std::string content_type;
    std::string body;
    /// Where Mailgun posts it: /api/v1/wh/mg/events for json, the original
    /// app's per-event route for the legacy formats.
    std::string route;
    std::string mailgun_event;   ///< the body's own `event` value
    mailgun::EventType expected; ///< what leadhook normalises it to
};

struct SignError {
    std::string message; ///< says what to do instead; never contains the key
};

/// Builds and signs one webhook with `key`, at `clock`'s time.
Expected<SignedWebhook, SignError> build_webhook(const SignRequest& request, std::string_view key,
                                                 const Clock& clock, const RandomBytes& random);

/// Every accepted event name, comma-separated, for help and error texts.
std::string event_names();

/// The first key that is current at `now` (no not_after, or not yet past
/// it), as leadhook would verify with it; nullptr if there is none.
const mailgun::SigningKey* first_usable_key(std::span<const mailgun::SigningKey> keys,
                                            EpochMicros now);

} // namespace leadhook::devtools
