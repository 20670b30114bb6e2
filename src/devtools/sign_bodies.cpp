#include "devtools/sign_bodies.hpp"

#include "body/form.hpp"

#include <nlohmann/json.hpp>

namespace leadhook::devtools::detail {
namespace {

using Json = nlohmann::ordered_json; // Mailgun's field order, not alphabetical

constexpr std::string_view sender = "sales@leadhook.test";
constexpr std::string_view from_header = "Leadhook Sales <sales@leadhook.test>";
constexpr std::string_view subject = "Following up on your enquiry";
constexpr std::string_view default_ip = "198.51.100.7";
constexpr std::string_view default_url = "https://example.com/pricing";
constexpr std::string_view user_agent =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

std::string recipient_domain(std::string_view recipient) {
    const auto at = recipient.rfind('@');
    return at == std::string_view::npos ? std::string() : std::string(recipient.substr(at + 1));
}

// ---- JSON (current webhooks) ----

Json code_value(const std::string& code) {
    const bool numeric = !code.empty() && code.size() <= 9 &&
                         code.find_first_not_of("0123456789") == std::string::npos;
    return numeric ? Json(std::stoi(code)) : Json(code);
}

Json full_message(const Resolved& r) {
    return Json{{"headers",
                 {{"to", r.request.recipient},
                  {"message-id", r.message_id},
                  {"from", from_header},
                  {"subject", subject}}},
                {"attachments", Json::array()},
                {"size", 2048}};
}

Json flags() {
    return Json{{"is-routed", false},
                {"is-authenticated", true},
                {"is-system-test", false},
                {"is-test-mode", false}};
}

Json envelope(const Resolved& r) {
    return Json{{"transport", "smtp"},
                {"sender", sender},
                {"sending-ip", "192.0.2.25"},
                {"targets", r.request.recipient}};
}

Json delivery_status(const Resolved& r) {
    const std::string rdomain = recipient_domain(r.request.recipient);
    if (r.name.kind == Kind::delivered) {
        return Json{{"tls", true},
                    {"mx-host", "mx." + rdomain},
                    {"code", 250},
                    {"description", ""},
                    {"session-seconds", 0.42},
                    {"utf8", true},
                    {"attempt-no", 1},
                    {"message", "OK"},
                    {"certificate-verified", true}};
    }
    const FailureText text = failure_text(r.severity, r.reason);
    Json status{{"tls", true},
                {"mx-host", "mx." + rdomain},
                {"code", code_value(r.code)},
                {"description", text.description},
                {"session-seconds", 0.31},
                {"utf8", true},
                {"attempt-no", 1},
                {"message", text.message},
                {"certificate-verified", true}};
    if (r.severity == "temporary") {
        status["retry-seconds"] = 600;
    }
    return status;
}

void add_engagement(Json& data, const Resolved& r) {
    data["ip"] = r.request.ip.value_or(std::string(default_ip));
    data["geolocation"] = Json{{"country", "US"}, {"region", "CA"}, {"city", "San Francisco"}};
    data["client-info"] = Json{{"client-type", "browser"},
                               {"client-os", "Linux"},
                               {"device-type", "desktop"},
                               {"client-name", "Firefox"},
                               {"user-agent", user_agent}};
    if (r.name.name == "clicked") {
        data["url"] = r.request.url.value_or(std::string(default_url));
    }
    data["message"] = Json{{"headers", {{"message-id", r.message_id}}}};
}

std::string_view log_level(const Resolved& r) {
    switch (r.name.kind) {
    case Kind::failure:
        return r.severity == "temporary" ? "warn" : "error";
    case Kind::complained:
    case Kind::rejected:
        return "warn";
    default:
        return "info";
    }
}

/// What each kind of event carries besides the common fields (EV samples).
void add_kind_fields(Json& data, const Resolved& r) {
    switch (r.name.kind) {
    case Kind::engagement:
        add_engagement(data, r);
        return;
    case Kind::delivered:
    case Kind::failure:
        data["envelope"] = envelope(r);
        data["delivery-status"] = delivery_status(r);
        break;
    case Kind::complained:
        data["envelope"] = Json{{"sending-ip", "192.0.2.25"}};
        break;
    case Kind::accepted:
        data["method"] = "HTTP";
        data["envelope"] = envelope(r);
        break;
    case Kind::rejected:
        data["reject"] = Json{
            {"reason", r.request.reason.value_or("Sandbox subdomains are for test purposes only. "
                                                 "Please add your own domain or add the address "
                                                 "to authorized recipients in Account Settings.")},
            {"description", ""}};
        data["message"] = full_message(r);
        return;
    }
    data["flags"] = flags();
    data["message"] = full_message(r);
}

Json user_variables(const Resolved& r) {
    Json vars = Json::object();
    for (const auto& [name, value] : r.request.variables) {
        vars[name] = value;
    }
    return vars;
}

Json event_data(const Resolved& r) {
    Json data = Json::object();
    data["id"] = r.event_id;
    data["timestamp"] = r.event_time;
    data["log-level"] = log_level(r);
    data["event"] = r.name.json_event;
    if (r.name.kind == Kind::failure) {
        data["severity"] = r.severity;
        data["reason"] = r.reason;
    }
    if (r.name.kind != Kind::rejected) { // Mailgun's rejected has no recipient of its own
        data["recipient"] = r.request.recipient;
        data["recipient-domain"] = recipient_domain(r.request.recipient);
    }
    add_kind_fields(data, r);
    data["tags"] = r.request.tags;
    data["campaigns"] = Json::array();
    data["user-variables"] = user_variables(r);
    return data;
}

/// message-headers: a JSON list of [name, value] pairs, as Mailgun sent it
/// with delivered, complained, bounced and dropped.
std::string message_headers(const Resolved& r) {
    Json headers =
        Json::array({Json::array({"Message-Id", "<" + r.message_id + ">"}),
                     Json::array({"To", r.request.recipient}), Json::array({"From", from_header}),
                     Json::array({"Subject", subject})});
    if (!r.request.variables.empty()) {
        headers.push_back(Json::array({"X-Mailgun-Variables", user_variables(r).dump()}));
    }
    return headers.dump();
}

} // namespace

FailureText failure_text(std::string_view severity, std::string_view reason) {
    if (severity == "temporary") {
        return {"452", "4.2.2 The email account that you tried to reach is over quota.", ""};
    }
    if (reason == "suppress-bounce" || reason == "hardfail") {
        return {"605", "", "Not delivering to previously bounced address"};
    }
    if (reason == "suppress-unsubscribe") {
        return {"606", "", "Not delivering to unsubscribed address"};
    }
    if (reason == "suppress-complaint") {
        return {"607", "", "Not delivering to a user who marked your messages as spam"};
    }
    if (reason == "old") {
        return {"499", "", "Unable to deliver for more than 8 hours"};
    }
    return {"550", "5.1.1 The email account that you tried to reach does not exist.", ""};
}

std::string json_body(const Resolved& r) {
    const Json body{
        {"signature", {{"timestamp", r.timestamp}, {"token", r.token}, {"signature", r.signature}}},
        {"event-data", event_data(r)}};
    return body.dump();
}

// ---- legacy form fields ----

/// Mailgun's fields first, then the user variables (a name that collides
/// with Mailgun's keeps Mailgun's value first), then timestamp, token and
/// signature last, as the real posts order them.
Pairs legacy_fields(const Resolved& r) {
    const SignRequest& q = r.request;
    Pairs f{{"event", std::string(r.name.legacy_event)},
            {"recipient", q.recipient},
            {"domain", std::string(sending_domain)}};
    std::string_view tag_field = "tag";
    if (r.name.kind == Kind::engagement) {
        f.insert(f.end(), {{"ip", q.ip.value_or(std::string(default_ip))},
                           {"country", "US"},
                           {"region", "CA"},
                           {"city", "San Francisco"},
                           {"user-agent", std::string(user_agent)},
                           {"device-type", "desktop"},
                           {"client-type", "browser"},
                           {"client-name", "Firefox"},
                           {"client-os", "Linux"}});
        if (r.name.name == "clicked") {
            f.emplace_back("url", q.url.value_or(std::string(default_url)));
        }
        f.emplace_back("message-id", r.message_id); // lower case, no <>: as observed
    } else {
        f.emplace_back("message-headers", message_headers(r));
        f.emplace_back("Message-Id", "<" + r.message_id + ">");
        if (r.name.kind == Kind::delivered) {
            tag_field = "X-Mailgun-Tag"; // what delivered posts were seen with
        }
    }
    if (r.name.legacy_event == "bounced") {
        f.emplace_back("code", r.code);
        f.emplace_back("error", "550 5.1.1 The email account that you tried to reach does not "
                                "exist.");
    } else if (r.name.legacy_event == "dropped") {
        f.emplace_back("code", r.code);
        f.emplace_back("reason", r.reason);
        f.emplace_back("description", std::string(failure_text("permanent", r.reason).description));
    }
    for (const auto& tag : q.tags) {
        f.emplace_back(std::string(tag_field), tag);
    }
    f.insert(f.end(), q.variables.begin(), q.variables.end());
    f.insert(f.end(), {{"timestamp", r.timestamp}, {"token", r.token}, {"signature", r.signature}});
    return f;
}

std::string form_body(const Pairs& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        if (!out.empty()) {
            out.push_back('&');
        }
        out += body::url_encode(name) + "=" + body::url_encode(value);
    }
    return out;
}

std::string multipart_body(const Pairs& fields, const std::string& boundary) {
    std::string out;
    for (const auto& [name, value] : fields) {
        out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name +
               "\"\r\n\r\n" + value + "\r\n";
    }
    return out + "--" + boundary + "--\r\n";
}

} // namespace leadhook::devtools::detail
