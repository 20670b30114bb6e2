#pragma once
// Internal to devtools/: the shapes of Mailgun's bodies for `leadhook sign`,
// built once sign_builder.cpp has checked the request and resolved every
// default. Modelled on the corpus (tests/data/mailgun) and on what
// mailgun/normalize_*.cpp read.
#include "devtools/sign_builder.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leadhook::devtools::detail {

using Pairs = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view sending_domain = "leadhook.test";

enum class Kind { delivered, engagement, complained, failure, accepted, rejected };

/// One accepted event name and what it becomes in each format.
struct EventName {
    std::string_view name;
    Kind kind;
    std::string_view json_event;
    std::string_view severity;       ///< failures; "" for `failed`: --severity decides
    std::string_view reason;         ///< failures' default reason in JSON; "" for `failed`
    std::string_view legacy_event;   ///< "" when legacy webhooks never posted it
    std::string_view legacy_refusal; ///< why not, and what to use instead
};

/// A failure's default code and texts, by reason (and severity).
struct FailureText {
    std::string_view code;
    std::string_view message;     ///< the MTA's answer (legacy `error`)
    std::string_view description; ///< Mailgun's explanation
};

/// Defaults for a failure with this severity and reason (Mailgun's codes:
/// 605 bounced before, 606 unsubscribed, 607 complained, 499 too old).
FailureText failure_text(std::string_view severity, std::string_view reason);

/// Everything the body needs, defaults and the signature resolved.
struct Resolved {
    const SignRequest& request;
    const EventName& name;
    std::string severity, reason, code; ///< failures
    std::string message_id;             ///< bare
    std::string event_id;
    double event_time = 0;
    std::string timestamp, token, signature;
};

/// {"signature": {...}, "event-data": {...}}, as current webhooks post it.
std::string json_body(const Resolved& r);

/// A legacy post's fields: Mailgun's own first, then the user variables
/// (so a colliding name keeps Mailgun's value first), then timestamp, token
/// and signature last, as the real posts order them.
Pairs legacy_fields(const Resolved& r);

/// application/x-www-form-urlencoded.
std::string form_body(const Pairs& fields);

/// multipart/form-data with CRLF line breaks, one part per field.
std::string multipart_body(const Pairs& fields, const std::string& boundary);

} // namespace leadhook::devtools::detail
