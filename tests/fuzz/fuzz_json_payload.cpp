// libFuzzer target for a current (JSON) webhook body: parse_payload with
// application/json, find_signature (and read_signature, which must agree with
// it), and normalize. Besides "no crash", every
// accepted body must be an object within the depth limit, and every event
// normalised from it must be consistent with the fields it came from.
#include "mailgun/normalize.hpp"
#include "mailgun/payload.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace leadhook;
using nlohmann::json;

namespace {

void require(bool holds) {
    if (!holds) {
        std::abort();
    }
}

std::size_t depth_of(const json& value) {
    std::size_t deepest = 0;
    if (value.is_structured()) {
        for (const auto& item : value) {
            const std::size_t d = depth_of(item);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    return 0;
}

void check_event(const mailgun::Event& event, const json& body) {
    require(event.format == mailgun::BodyFormat::json);
    require(!event.mailgun_event.empty());
    const auto expected = event.mailgun_event == "failed"
                              ? mailgun::classify_failed(event.severity, event.reason)
                              : mailgun::event_type_from_name(event.mailgun_event);
    // `reason` may be filled from reject.reason after classification.
    if (event.mailgun_event != "failed") {
        require(event.type == expected);
    }
    if (event.event_time) {
        require(*event.event_time >= 0 && *event.event_time <= 100'000'000'000LL * 1'000'000);
    }
    require(event.payload == body.at("event-data"));
    require(!event.user_variables.is_null());
    // What the store does with it: the payload goes out as JSON text.
    const std::string text =
        event.payload.dump(-1, ' ', false, json::error_handler_t::replace) +
        event.user_variables.dump(-1, ' ', false, json::error_handler_t::replace);
    require(!text.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    body::Limits limits;
    limits.max_json_depth = 32;
    auto payload = mailgun::parse_payload("application/json; charset=utf-8", text, limits);
    if (!payload) {
        require(!payload.error().message.empty());
        return 0;
    }
    require(payload->format == mailgun::BodyFormat::json && payload->json.is_object());
    require(payload->fields.empty());
    require(depth_of(payload->json) <= limits.max_json_depth);

    const auto signature = mailgun::find_signature(*payload);
    if (signature) {
        require(!signature->timestamp.empty() && !signature->token.empty() &&
                !signature->signature.empty());
    }
    // Read first, without a tree, the signature is the one the tree holds.
    const auto early = mailgun::read_signature("application/json", text, limits);
    require(early.has_value() && early->has_value() == signature.has_value());
    if (signature) {
        const auto& read = **early;
        require(read.timestamp == signature->timestamp && read.token == signature->token &&
                read.signature == signature->signature &&
                read.parent_signature == signature->parent_signature);
    }

    auto event = mailgun::normalize(*payload, std::nullopt);
    // A route's implied event type only matters for legacy forms.
    auto routed = mailgun::normalize(*payload, mailgun::EventType::bounced);
    require(event.has_value() == routed.has_value());
    if (!event) {
        require(!event.error().message.empty());
        return 0;
    }
    require(routed->type == event->type && routed->recipient == event->recipient);
    check_event(*event, payload->json);
    return 0;
}
