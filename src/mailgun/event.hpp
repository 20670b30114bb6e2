#pragma once
// A webhook normalised to one shape, whichever of Mailgun's three body
// formats it came in. Empty strings mean "Mailgun did not say" and are stored
// as NULL.
#include "util/clock.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook::mailgun {

enum class EventType {
    delivered,
    opened,
    clicked,
    unsubscribed,
    complained,
    bounced,
    dropped,
    deferred, ///< failed with severity temporary: Mailgun keeps trying
    rejected,
    accepted,
    stored,
    unknown,
};

std::string_view to_string(EventType type);

/// Maps a legacy `event` value or a route's implied name ("delivered", "bounced", ...).
/// JSON's "failed" needs severity and reason: see classify_failed().
EventType event_type_from_name(std::string_view name);

/// JSON `failed`: temporary is deferred; permanent is bounced when the reason
/// is `bounce`, otherwise dropped (Mailgun refused to try: suppressions, old, ...).
EventType classify_failed(std::string_view severity, std::string_view reason);

enum class BodyFormat { json, form, multipart };
std::string_view to_string(BodyFormat format);

struct Event {
    EventType type = EventType::unknown;
    std::string mailgun_event; ///< Mailgun's own name: "failed", "dropped", ...
    std::string severity;
    std::string reason;
    std::string recipient;
    std::string message_id; ///< without angle brackets
    std::string mailgun_event_id;
    std::optional<EpochMicros> event_time; ///< when it happened, if the payload says
    std::string domain;
    std::string ip;
    std::string country, region, city;
    std::string device_type, client_type, client_name, client_os, user_agent;
    std::string bot; ///< Mailgun's bot label (apple, gmail, generic); empty for a person
    std::string url;
    std::string code;
    std::string error;       ///< the MTA's answer
    std::string description; ///< Mailgun's explanation
    std::vector<std::string> tags;
    nlohmann::json user_variables = nlohmann::json::object();
    nlohmann::json payload; ///< event-data, or the form fields as an object
    BodyFormat format = BodyFormat::json;
};

/// Strips surrounding whitespace and one pair of angle brackets.
std::string bare_message_id(std::string_view id);

} // namespace leadhook::mailgun
