#pragma once
// From a decoded body to the one Event shape the store understands.
#include "mailgun/event.hpp"
#include "mailgun/payload.hpp"
#include "util/expected.hpp"

#include <optional>

namespace leadhook::mailgun {

/// `route_event` is what one of the original per-event routes names; it is
/// used only for a legacy post that carries no `event` field of its own.
Expected<Event, Unprocessable> normalize(const Payload& payload,
                                         std::optional<EventType> route_event);
/// The same, taking the payload's event-data tree into the Event instead of
/// copying it (the handler has no use for the Payload afterwards).
Expected<Event, Unprocessable> normalize(Payload&& payload, std::optional<EventType> route_event);

Expected<Event, Unprocessable> normalize_json(const nlohmann::json& body);
Expected<Event, Unprocessable> normalize_json(nlohmann::json&& body);
Expected<Event, Unprocessable> normalize_form(const body::Fields& fields, BodyFormat format,
                                              std::optional<EventType> route_event);

} // namespace leadhook::mailgun
