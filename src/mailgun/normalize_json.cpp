// Current (JSON) webhooks: {"signature": {...}, "event-data": {...}}. Fields
// may be absent, null or of a surprising type (user-variables as a string,
// delivery-status null); every read here tolerates that.
#include "mailgun/normalize.hpp"

#include <cmath>
#include <initializer_list>

namespace leadhook::mailgun {
namespace {

using nlohmann::json;

/// The value at a path of object keys, or nullptr if any step is missing.
const json* at(const json& root, std::initializer_list<const char*> path) {
    const json* node = &root;
    for (const char* key : path) {
        if (!node->is_object()) {
            return nullptr;
        }
        auto it = node->find(key);
        if (it == node->end()) {
            return nullptr;
        }
        node = &*it;
    }
    return node;
}

/// Text of a string, number or boolean at `path`; empty otherwise.
std::string text(const json& root, std::initializer_list<const char*> path) {
    const json* node = at(root, path);
    if (!node || node->is_null() || node->is_object() || node->is_array()) {
        return {};
    }
    return node->is_string() ? node->get<std::string>() : node->dump();
}

/// "Name <addr@example.com>" -> "addr@example.com"; a bare address is kept.
std::string address_of(std::string to) {
    const auto open = to.rfind('<');
    const auto close = to.rfind('>');
    if (open != std::string::npos && close != std::string::npos && open < close) {
        return to.substr(open + 1, close - open - 1);
    }
    return to;
}

std::optional<EpochMicros> event_time(const json& data) {
    const json* ts = at(data, {"timestamp"});
    if (!ts || !ts->is_number()) {
        return std::nullopt;
    }
    const double seconds = ts->get<double>();
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e11) {
        return std::nullopt;
    }
    return static_cast<EpochMicros>(std::llround(seconds * 1e6));
}

std::vector<std::string> tags(const json& data) {
    std::vector<std::string> out;
    const json* list = at(data, {"tags"});
    if (list && list->is_array()) {
        for (const auto& tag : *list) {
            if (tag.is_string()) {
                out.push_back(tag.get<std::string>());
            }
        }
    }
    return out;
}

std::string domain_of(const json& data) {
    std::string domain = text(data, {"domain", "name"});
    if (domain.empty()) {
        const std::string sender = text(data, {"envelope", "sender"});
        if (auto at_sign = sender.rfind('@'); at_sign != std::string::npos) {
            domain = sender.substr(at_sign + 1);
        }
    }
    return domain;
}

void read_client(Event& e, const json& data) {
    e.ip = text(data, {"ip"});
    e.country = text(data, {"geolocation", "country"});
    e.region = text(data, {"geolocation", "region"});
    e.city = text(data, {"geolocation", "city"});
    e.device_type = text(data, {"client-info", "device-type"});
    e.client_type = text(data, {"client-info", "client-type"});
    e.client_name = text(data, {"client-info", "client-name"});
    e.client_os = text(data, {"client-info", "client-os"});
    e.user_agent = text(data, {"client-info", "user-agent"});
    e.bot = text(data, {"client-info", "bot"});
}

void read_delivery(Event& e, const json& data) {
    e.code = text(data, {"delivery-status", "code"});
    e.error = text(data, {"delivery-status", "message"});
    e.description = text(data, {"delivery-status", "description"});
    // rejected carries its explanation in `reject` instead.
    if (e.reason.empty()) {
        e.reason = text(data, {"reject", "reason"});
    }
    if (e.description.empty()) {
        e.description = text(data, {"reject", "description"});
    }
}

/// Everything but the payload, which the callers copy or move.
Expected<Event, Unprocessable> read_event(const json& body) {
    const json* data = at(body, {"event-data"});
    if (!data || !data->is_object()) {
        return unexpected(Unprocessable{"JSON body has no event-data object"});
    }
    Event e;
    e.format = BodyFormat::json;
    e.mailgun_event = text(*data, {"event"});
    if (e.mailgun_event.empty()) {
        return unexpected(Unprocessable{"event-data has no event"});
    }
    e.severity = text(*data, {"severity"});
    e.reason = text(*data, {"reason"});
    e.type = e.mailgun_event == "failed" ? classify_failed(e.severity, e.reason)
                                         : event_type_from_name(e.mailgun_event);
    e.mailgun_event_id = text(*data, {"id"});
    e.event_time = event_time(*data);
    e.recipient = text(*data, {"recipient"});
    if (e.recipient.empty()) { // rejected has no recipient of its own
        e.recipient = address_of(text(*data, {"message", "headers", "to"}));
    }
    e.message_id = bare_message_id(text(*data, {"message", "headers", "message-id"}));
    e.domain = domain_of(*data);
    e.url = text(*data, {"url"});
    read_client(e, *data);
    read_delivery(e, *data);
    e.tags = tags(*data);
    if (const json* vars = at(*data, {"user-variables"}); vars && !vars->is_null()) {
        e.user_variables = *vars;
    }
    return e;
}

} // namespace

Expected<Event, Unprocessable> normalize_json(const json& body) {
    auto event = read_event(body);
    if (event) {
        event->payload = *at(body, {"event-data"});
    }
    return event;
}

Expected<Event, Unprocessable> normalize_json(json&& body) {
    auto event = read_event(body);
    if (event) {
        event->payload = std::move(body["event-data"]); // read_event found it
    }
    return event;
}

Expected<Event, Unprocessable> normalize(const Payload& payload,
                                         std::optional<EventType> route_event) {
    if (payload.format == BodyFormat::json) {
        return normalize_json(payload.json);
    }
    return normalize_form(payload.fields, payload.format, route_event);
}

Expected<Event, Unprocessable> normalize(Payload&& payload, std::optional<EventType> route_event) {
    if (payload.format == BodyFormat::json) {
        return normalize_json(std::move(payload.json));
    }
    return normalize_form(payload.fields, payload.format, route_event);
}

} // namespace leadhook::mailgun
