#include "devtools/sign_builder.hpp"

#include "app/router.hpp"
#include "devtools/sign_bodies.hpp"
#include "mailgun/signature.hpp"
#include "util/hex.hpp"
#include "util/utf8.hpp"

#include <openssl/rand.h>

#include <array>
#include <climits>
#include <stdexcept>

namespace leadhook::devtools {
namespace {

using detail::EventName;
using detail::failure_text;
using detail::Kind;
using detail::Resolved;
using mailgun::BodyFormat;
using mailgun::EventType;

constexpr std::string_view no_legacy_failed =
    "legacy webhooks have no `failed` event: use --event bounced or --event dropped with "
    "--format form or multipart, or --format json";
constexpr std::string_view no_legacy_temporary =
    "legacy webhooks never reported temporary failures: use --format json";
constexpr std::string_view json_only = "exists only in current (JSON) webhooks: use --format json";

constexpr std::array<EventName, 13> event_table{{
    {"delivered", Kind::delivered, "delivered", "", "", "delivered", ""},
    {"opened", Kind::engagement, "opened", "", "", "opened", ""},
    {"clicked", Kind::engagement, "clicked", "", "", "clicked", ""},
    {"unsubscribed", Kind::engagement, "unsubscribed", "", "", "unsubscribed", ""},
    {"complained", Kind::complained, "complained", "", "", "complained", ""},
    {"bounced", Kind::failure, "failed", "permanent", "bounce", "bounced", ""},
    {"dropped", Kind::failure, "failed", "permanent", "suppress-bounce", "dropped", ""},
    {"failed", Kind::failure, "failed", "", "", "", no_legacy_failed},
    {"permanent_fail", Kind::failure, "failed", "permanent", "bounce", "", no_legacy_failed},
    {"temporary_fail", Kind::failure, "failed", "temporary", "generic", "", no_legacy_temporary},
    {"deferred", Kind::failure, "failed", "temporary", "generic", "", no_legacy_temporary},
    {"accepted", Kind::accepted, "accepted", "", "", "", json_only},
    {"rejected", Kind::rejected, "rejected", "", "", "", json_only},
}};

std::string base64url(std::string_view bytes) {
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned bits = 0;
    int count = 0;
    for (const char c : bytes) {
        bits = (bits << 8) | static_cast<unsigned char>(c);
        count += 8;
        while (count >= 6) {
            count -= 6;
            out.push_back(digits[(bits >> count) & 0x3f]);
        }
    }
    if (count > 0) {
        out.push_back(digits[(bits << (6 - count)) & 0x3f]);
    }
    return out;
}

std::string random_hex(const RandomBytes& random, std::size_t bytes) {
    const std::string raw = random(bytes);
    return to_hex(std::span(reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
}

/// Mailgun's style: 20261129073000.1.0123456789ABCDEF@sending-domain.
std::string fresh_message_id(EpochMicros now, const RandomBytes& random) {
    std::string digits;
    for (const char c : format_utc(now).substr(0, 19)) {
        if (c >= '0' && c <= '9') {
            digits.push_back(c);
        }
    }
    std::string hex = random_hex(random, 8);
    for (char& c : hex) {
        if (c >= 'a' && c <= 'f') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return digits + ".1." + hex + "@" + std::string(detail::sending_domain);
}

/// Values end up in JSON strings, form fields and multipart parts: no
/// control characters (they could end a part) and valid UTF-8 only.
std::optional<SignError> check_text(std::string_view option, std::string_view value) {
    for (const char c : value) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return SignError{std::string(option) + ": control characters are not allowed"};
        }
    }
    if (to_storable_utf8(value) != value) {
        return SignError{std::string(option) + ": not valid UTF-8"};
    }
    return std::nullopt;
}

std::optional<SignError> check_variables(const SignRequest& r) {
    for (std::size_t i = 0; i < r.variables.size(); ++i) {
        const auto& [name, value] = r.variables[i];
        if (name.empty() || name.size() > 200 || name.find_first_of("\"\\") != std::string::npos) {
            return SignError{"--var NAME=VALUE: NAME must be 1 to 200 bytes without \" or \\"};
        }
        if (auto error = check_text("--var " + name, name + value)) {
            return error;
        }
        for (std::size_t j = 0; j < i; ++j) {
            if (r.variables[j].first == name) {
                return SignError{"--var " + name + " given twice"};
            }
        }
    }
    return std::nullopt;
}

std::optional<SignError> check_texts(const SignRequest& r) {
    const std::array<std::pair<std::string_view, const std::optional<std::string>*>, 8> optional{
        {{"--severity", &r.severity},
         {"--reason", &r.reason},
         {"--code", &r.code},
         {"--ip", &r.ip},
         {"--url", &r.url},
         {"--timestamp", &r.timestamp},
         {"--token", &r.token},
         {"--event-id", &r.event_id}}};
    if (r.recipient.empty()) {
        return SignError{"--recipient is required"};
    }
    std::optional<SignError> error = check_text("--recipient", r.recipient);
    if (!error) {
        error = check_text("--message-id", r.message_id);
    }
    for (const auto& [option, value] : optional) {
        if (!error && *value) {
            error = value->value().empty() ? SignError{std::string(option) + " must not be empty"}
                                           : check_text(option, **value);
        }
    }
    for (const auto& tag : r.tags) {
        if (!error) {
            error = check_text("--tag", tag);
        }
    }
    return error ? error : check_variables(r);
}

const EventName* find_event(std::string_view name) {
    for (const auto& entry : event_table) {
        if (entry.name == name) {
            return &entry;
        }
    }
    return nullptr;
}

/// Refuses options the event does not carry, so a typo is not silently lost.
std::optional<SignError> check_applicable(const SignRequest& r, const EventName& e) {
    const std::string event = std::string(e.name);
    if (r.ip && e.kind != Kind::engagement) {
        return SignError{"--ip applies only to opened, clicked and unsubscribed, not " + event};
    }
    if (r.url && e.name != "clicked") {
        return SignError{"--url applies only to clicked, not " + event};
    }
    if (r.code && e.kind != Kind::failure) {
        return SignError{"--code applies only to failures (failed, bounced, dropped, "
                         "permanent_fail, temporary_fail, deferred), not " +
                         event};
    }
    if (r.reason && e.kind != Kind::failure && e.kind != Kind::rejected) {
        return SignError{"--reason applies only to failures and rejected, not " + event};
    }
    if (r.severity && e.name != "failed") {
        return SignError{"--severity applies only to --event failed (bounced, dropped and "
                         "permanent_fail are permanent; temporary_fail and deferred temporary)"};
    }
    if (r.severity && *r.severity != "permanent" && *r.severity != "temporary") {
        return SignError{"--severity must be permanent or temporary"};
    }
    if (r.event_id && r.format != BodyFormat::json) {
        return SignError{"--event-id applies only to --format json: legacy webhooks carry no "
                         "event id"};
    }
    return std::nullopt;
}

/// Severity, reason and code of a failure, and the type leadhook will see.
Expected<EventType, SignError> resolve_failure(Resolved& out) {
    const SignRequest& r = out.request;
    const EventName& e = out.name;
    if (r.format != BodyFormat::json) { // bounced or dropped: the table refused the rest
        if (e.name == "bounced" && r.reason) {
            return unexpected(SignError{"legacy bounced posts carry no reason (only code and "
                                        "error): drop --reason, or use --format json"});
        }
        out.reason = e.name == "dropped" ? r.reason.value_or("hardfail") : "";
        out.code = r.code.value_or(std::string(failure_text("permanent", out.reason).code));
        return mailgun::event_type_from_name(e.legacy_event);
    }
    out.severity = !e.severity.empty() ? std::string(e.severity) : r.severity.value_or("permanent");
    const std::string_view fallback =
        !e.reason.empty() ? e.reason : (out.severity == "temporary" ? "generic" : "bounce");
    out.reason = r.reason.value_or(std::string(fallback));
    if (e.name == "bounced" && out.reason != "bounce") {
        return unexpected(SignError{"a JSON bounce is failed with reason bounce; for reason " +
                                    out.reason + " use --event dropped or --event failed"});
    }
    if (e.name == "dropped" && out.reason == "bounce") {
        return unexpected(SignError{"reason bounce makes a JSON failure a bounce: use --event "
                                    "bounced, or another reason (suppress-bounce, old, ...)"});
    }
    out.code = r.code.value_or(std::string(failure_text(out.severity, out.reason).code));
    return mailgun::classify_failed(out.severity, out.reason);
}

/// The events route for JSON; the original app's route for a legacy event.
Expected<std::string, SignError> route_for(BodyFormat format, EventType expected) {
    for (const auto& route : app::routes()) {
        if (route.kind != app::RouteKind::webhook) {
            continue;
        }
        if (format == BodyFormat::json ? !route.implied : route.implied == expected) {
            return std::string(route.path);
        }
    }
    return unexpected(SignError{"no route for " + std::string(mailgun::to_string(expected))});
}

Expected<Resolved, SignError> resolve(const SignRequest& request, const EventName& name,
                                      std::string_view key, const Clock& clock,
                                      const RandomBytes& random, EventType& expected) {
    Resolved r{request, name, {}, {}, {}, {}, {}, 0, {}, {}, {}};
    if (name.kind == Kind::failure) {
        auto type = resolve_failure(r);
        if (!type) {
            return unexpected(std::move(type).error());
        }
        expected = *type;
    } else {
        expected = mailgun::event_type_from_name(name.json_event);
    }
    const EpochMicros now = clock.now();
    if (request.timestamp) {
        const auto at = parse_epoch_seconds(*request.timestamp);
        if (!at) {
            return unexpected(SignError{"--timestamp must be whole Unix seconds"});
        }
        r.timestamp = *request.timestamp;
        const EpochMicros whole_seconds = *at / 1000000; // whole seconds, as given
        r.event_time = static_cast<double>(whole_seconds);
    } else {
        const EpochMicros whole_seconds = now / 1000000;
        r.timestamp = std::to_string(whole_seconds);
        r.event_time =
            static_cast<double>(whole_seconds) + static_cast<double>(now % 1000000) / 1e6;
    }
    r.token = request.token ? *request.token : random_hex(random, 25);
    r.signature = mailgun::sign(key, r.timestamp, r.token);
    r.event_id = request.event_id ? *request.event_id : base64url(random(16));
    r.message_id = request.message_id.empty() ? fresh_message_id(now, random)
                                              : mailgun::bare_message_id(request.message_id);
    return r;
}

} // namespace

RandomBytes system_random() {
    return [](std::size_t count) {
        std::string bytes(count, '\0');
        if (count > static_cast<std::size_t>(INT_MAX) ||
            RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(count)) !=
                1) {
            throw std::runtime_error("OpenSSL RAND_bytes failed");
        }
        return bytes;
    };
}

std::string event_names() {
    std::string out;
    for (const auto& entry : event_table) {
        out += (out.empty() ? "" : ", ") + std::string(entry.name);
    }
    return out;
}

Expected<SignedWebhook, SignError> build_webhook(const SignRequest& request, std::string_view key,
                                                 const Clock& clock, const RandomBytes& random) {
    const EventName* name = find_event(request.event);
    if (!name) {
        return unexpected(
            SignError{"unknown event '" + request.event + "' (one of: " + event_names() + ")"});
    }
    if (request.format != BodyFormat::json && name->legacy_event.empty()) {
        return unexpected(SignError{"--event " + request.event + " --format " +
                                    std::string(mailgun::to_string(request.format)) + ": " +
                                    std::string(name->legacy_refusal)});
    }
    if (key.empty()) {
        return unexpected(SignError{"the signing key is empty"});
    }
    if (auto error = check_texts(request)) {
        return unexpected(std::move(*error));
    }
    if (auto error = check_applicable(request, *name)) {
        return unexpected(std::move(*error));
    }
    EventType expected = EventType::unknown;
    auto resolved = resolve(request, *name, key, clock, random, expected);
    if (!resolved) {
        return unexpected(std::move(resolved).error());
    }
    auto route = route_for(request.format, expected);
    if (!route) {
        return unexpected(std::move(route).error());
    }
    SignedWebhook out{"", "", std::move(*route), "", expected};
    switch (request.format) {
    case BodyFormat::json:
        out.content_type = "application/json";
        out.body = detail::json_body(*resolved);
        out.mailgun_event = name->json_event;
        break;
    case BodyFormat::form:
        out.content_type = "application/x-www-form-urlencoded";
        out.body = detail::form_body(detail::legacy_fields(*resolved));
        out.mailgun_event = name->legacy_event;
        break;
    case BodyFormat::multipart: {
        const std::string boundary = "leadhook-" + random_hex(random, 12);
        out.content_type = "multipart/form-data; boundary=" + boundary;
        out.body = detail::multipart_body(detail::legacy_fields(*resolved), boundary);
        out.mailgun_event = name->legacy_event;
        break;
    }
    }
    return out;
}

const mailgun::SigningKey* first_usable_key(std::span<const mailgun::SigningKey> keys,
                                            EpochMicros now) {
    for (const auto& key : keys) {
        if (!key.not_after || now <= *key.not_after) {
            return &key;
        }
    }
    return nullptr;
}

} // namespace leadhook::devtools
