// Legacy webhooks: form fields, urlencoded or multipart. Mailgun mixes the
// sender's custom variables in with its own fields; when names collide its
// own value comes first, except for timestamp, token and signature, where it
// comes last (README.md, "Routes").
#include "mailgun/normalize.hpp"

#include "body/json.hpp"

#include <array>

namespace leadhook::mailgun {
namespace {

using body::Fields;
using nlohmann::json;

constexpr std::array<std::string_view, 34> mailgun_fields{"event",
                                                          "recipient",
                                                          "domain",
                                                          "message-headers",
                                                          "Message-Id",
                                                          "message-id",
                                                          "X-Mailgun-Sid",
                                                          "ip",
                                                          "country",
                                                          "region",
                                                          "city",
                                                          "user-agent",
                                                          "device-type",
                                                          "client-type",
                                                          "client-name",
                                                          "client-os",
                                                          "campaign-id",
                                                          "campaign-name",
                                                          "tag",
                                                          "X-Mailgun-Tag",
                                                          "mailing-list",
                                                          "url",
                                                          "code",
                                                          "error",
                                                          "notification",
                                                          "reason",
                                                          "description",
                                                          "attachment-count",
                                                          "h",
                                                          "body-plain",
                                                          "timestamp",
                                                          "token",
                                                          "signature",
                                                          "X-Mailgun-Variables"};

bool is_mailgun_field(std::string_view name) {
    if (name.starts_with("attachment-")) {
        return true;
    }
    for (auto known : mailgun_fields) {
        if (known == name) {
            return true;
        }
    }
    return false;
}

bool signed_field(std::string_view name) {
    return name == "timestamp" || name == "token" || name == "signature";
}

std::string first_or_empty(const Fields& fields, std::string_view name) {
    const std::string* value = body::first(fields, name);
    return value ? *value : std::string{};
}

/// An inbound route's forward() posted to a tracking URL: no event, but mail.
bool looks_inbound(const Fields& fields) {
    return body::first(fields, "sender") || body::first(fields, "body-html") ||
           body::first(fields, "stripped-text");
}

/// JSON text nested within bounds, parsed; discarded (like invalid JSON)
/// otherwise, since copying, storing or printing a deeper value recurses
/// once per level and would overflow a worker's stack.
json parse_bounded(std::string_view text) {
    if (body::nesting_depth(text) > body::default_max_json_depth) {
        return json(json::value_t::discarded);
    }
    return json::parse(text, nullptr, false);
}

/// X-Mailgun-Variables headers inside message-headers, merged in order.
json header_variables(const Fields& fields) {
    json vars = json::object();
    const std::string* raw = body::first(fields, "message-headers");
    if (!raw) {
        return vars;
    }
    json headers = parse_bounded(*raw);
    if (!headers.is_array()) {
        return vars;
    }
    for (const auto& header : headers) {
        if (header.is_array() && header.size() == 2 && header[0] == "X-Mailgun-Variables" &&
            header[1].is_string()) {
            json parsed = parse_bounded(header[1].get<std::string>());
            if (parsed.is_object()) {
                vars.update(parsed);
            }
        }
    }
    return vars;
}

/// Custom variables: from message-headers when Mailgun sent them, otherwise
/// the posted fields that are not Mailgun's, plus the second of a colliding pair.
json user_variables(const Fields& fields) {
    json vars = header_variables(fields);
    if (!vars.empty()) {
        return vars;
    }
    for (const auto& field : fields) {
        if (field.filename) {
            continue;
        }
        if (!is_mailgun_field(field.name)) {
            vars[field.name] = field.value;
        } else if (body::all(fields, field.name).size() > 1 && field.name != "tag" &&
                   field.name != "X-Mailgun-Tag") {
            const std::string* user = signed_field(field.name) ? body::first(fields, field.name)
                                                               : body::last(fields, field.name);
            vars[field.name] = *user;
        }
    }
    return vars;
}

/// The fields as a JSON object: repeated names become arrays, file parts
/// are recorded by name and size only.
json fields_object(const Fields& fields) {
    json out = json::object();
    for (const auto& field : fields) {
        json value = field.filename ? json{{"filename", *field.filename}, {"size", field.size}}
                                    : json(field.value);
        auto it = out.find(field.name);
        if (it == out.end()) {
            out[field.name] = std::move(value);
        } else if (it->is_array()) { // only we make arrays: values are strings or objects
            it->push_back(std::move(value));
        } else {
            *it = json::array({*it, std::move(value)});
        }
    }
    return out;
}

void read_client(Event& e, const Fields& fields) {
    e.ip = first_or_empty(fields, "ip");
    e.country = first_or_empty(fields, "country");
    e.region = first_or_empty(fields, "region");
    e.city = first_or_empty(fields, "city");
    e.device_type = first_or_empty(fields, "device-type");
    e.client_type = first_or_empty(fields, "client-type");
    e.client_name = first_or_empty(fields, "client-name");
    e.client_os = first_or_empty(fields, "client-os");
    e.user_agent = first_or_empty(fields, "user-agent");
}

} // namespace

Expected<Event, Unprocessable> normalize_form(const Fields& fields, BodyFormat format,
                                              std::optional<EventType> route_event) {
    Event e;
    e.format = format;
    e.mailgun_event = first_or_empty(fields, "event");
    if (e.mailgun_event.empty()) {
        if (looks_inbound(fields)) {
            return unexpected(Unprocessable{
                "inbound-route payload (no event field, has message content) posted to a "
                "tracking webhook; point the Mailgun route elsewhere"});
        }
        if (!route_event) {
            return unexpected(Unprocessable{"form body has no event field"});
        }
        e.mailgun_event = to_string(*route_event);
    }
    e.type = event_type_from_name(e.mailgun_event);
    e.recipient = first_or_empty(fields, "recipient");
    e.domain = first_or_empty(fields, "domain");
    const std::string* id = body::first(fields, "Message-Id");
    e.message_id = bare_message_id(id ? *id : first_or_empty(fields, "message-id"));
    if (const std::string* ts = body::last(fields, "timestamp")) {
        e.event_time = parse_epoch_seconds(*ts);
    }
    read_client(e, fields);
    e.url = first_or_empty(fields, "url");
    e.code = first_or_empty(fields, "code");
    e.error = first_or_empty(fields, "error");
    if (e.error.empty()) {
        e.error = first_or_empty(fields, "notification");
    }
    e.reason = first_or_empty(fields, "reason");
    e.description = first_or_empty(fields, "description");
    e.tags = body::all(fields, "tag");
    if (e.tags.empty()) {
        e.tags = body::all(fields, "X-Mailgun-Tag");
    }
    e.user_variables = user_variables(fields);
    e.payload = fields_object(fields);
    return e;
}

} // namespace leadhook::mailgun
