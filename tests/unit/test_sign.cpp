// `leadhook sign`'s bodies: every event type in every format verifies with
// the real verifier, normalises to the expected event through the real
// payload reader and normaliser, and is stored by the real App (fake store)
// when posted to the route it names. Combinations Mailgun never sent are
// refused with a message that says what to use instead.
#include "app/app.hpp"
#include "devtools/sign_builder.hpp"
#include "mailgun/normalize.hpp"
#include "mailgun/signature.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_sign {

using namespace leadhook;
using devtools::SignRequest;
using mailgun::BodyFormat;

namespace {

constexpr EpochMicros now = 1'764'000'000'123'456; // 2025-11-24T16:00:00.123456Z
const std::string key = "sign-test-key";

/// Bytes 0, 1, 2, ... across calls: the same sequence in every run.
struct CountingRandom {
    unsigned char next = 0;
    std::string operator()(std::size_t count) {
        std::string out;
        for (std::size_t i = 0; i < count; ++i) {
            out.push_back(static_cast<char>(next++));
        }
        return out;
    }
};

devtools::RandomBytes counting() {
    return [state = std::make_shared<CountingRandom>()](std::size_t n) { return (*state)(n); };
}

SignRequest request(std::string event, BodyFormat format = BodyFormat::json) {
    SignRequest r;
    r.event = std::move(event);
    r.format = format;
    r.recipient = "lead@example.com";
    r.message_id = "20261129.sign.1@leadhook.test";
    return r;
}

Expected<devtools::SignedWebhook, devtools::SignError> build(const SignRequest& r) {
    const FixedClock clock{now};
    return devtools::build_webhook(r, key, clock, counting());
}

devtools::SignedWebhook built(const SignRequest& r) {
    auto webhook = build(r);
    BOOST_TEST_REQUIRE(webhook.has_value(), test::error_text(webhook));
    return std::move(webhook).value();
}

std::string refusal(const SignRequest& r) {
    auto webhook = build(r);
    return webhook ? "<built>" : webhook.error().message;
}

/// The event as leadhook reads it: decoded by its Content-Type, normalised
/// with the route's implied type.
mailgun::Event normalised(const devtools::SignedWebhook& w) {
    auto payload = mailgun::parse_payload(w.content_type, w.body);
    BOOST_TEST_REQUIRE(payload.has_value(), test::error_text(payload));
    const app::Route* route = app::find_route(w.route);
    BOOST_TEST_REQUIRE(route != nullptr, w.route);
    auto event = mailgun::normalize(*payload, route->implied);
    BOOST_TEST_REQUIRE(event.has_value(), test::error_text(event));
    return std::move(event).value();
}

mailgun::SignatureParams signature_of(const devtools::SignedWebhook& w) {
    auto payload = mailgun::parse_payload(w.content_type, w.body);
    BOOST_TEST_REQUIRE(payload.has_value(), test::error_text(payload));
    auto params = mailgun::find_signature(*payload);
    BOOST_TEST_REQUIRE(params.has_value());
    return *params;
}

const std::vector<BodyFormat> formats{BodyFormat::json, BodyFormat::form, BodyFormat::multipart};

/// (event, format) -> the type leadhook must store, or "<refused>".
const std::map<std::pair<std::string, BodyFormat>, std::string>& expectations() {
    static const auto table = [] {
        std::map<std::pair<std::string, BodyFormat>, std::string> t;
        for (const char* same : {"delivered", "opened", "clicked", "unsubscribed", "complained",
                                 "bounced", "dropped"}) {
            for (auto f : formats) {
                t[{same, f}] = same;
            }
        }
        const std::map<std::string, std::string> json_only{
            {"failed", "bounced"},    {"permanent_fail", "bounced"}, {"temporary_fail", "deferred"},
            {"deferred", "deferred"}, {"accepted", "accepted"},      {"rejected", "rejected"}};
        for (const auto& [event, type] : json_only) {
            t[{event, BodyFormat::json}] = type;
            t[{event, BodyFormat::form}] = "<refused>";
            t[{event, BodyFormat::multipart}] = "<refused>";
        }
        return t;
    }();
    return table;
}

/// The real App over a fake store, judging at the signing time.
struct Harness {
    app::SettingsHolder settings{[] {
        app::Settings s;
        s.keys = {{"old-key", "old", std::nullopt}, {key, "sign", std::nullopt}};
        return s;
    }()};
    test::FakeStore store;
    FixedClock clock{now + 2'000'000};
    test::CapturedOutput log_out;
    obs::Logger logger{log_out.file(), clock};
    obs::Metrics metrics;
    app::App app{settings, store, logger, metrics};

    http::Response post(const devtools::SignedWebhook& w) {
        http::Request request;
        request.method = "POST";
        request.path = w.route;
        request.content_type = w.content_type;
        request.body = w.body;
        request.remote_addr = "127.0.0.1";
        request.request_id = "sign-test";
        request.received_at = clock.now();
        return app.handle(request);
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(sign)

BOOST_AUTO_TEST_CASE(every_event_and_format_verifies_and_normalises_to_its_type) {
    for (const auto& [combination, want] : expectations()) {
        const auto& [event, format] = combination;
        BOOST_TEST_CONTEXT(event << " as " << mailgun::to_string(format)) {
            const auto r = request(event, format);
            if (want == "<refused>") {
                BOOST_TEST(refusal(r) != "<built>");
                continue;
            }
            const auto w = built(r);
            BOOST_TEST(mailgun::to_string(w.expected) == want);
            const auto params = signature_of(w);
            BOOST_TEST(params.timestamp == "1764000000");
            BOOST_TEST(mailgun::check_key(params, key).signature);
            BOOST_TEST(!mailgun::check_key(params, "another-key").signature);
            const auto e = normalised(w);
            BOOST_TEST(mailgun::to_string(e.type) == want);
            BOOST_TEST(e.mailgun_event == w.mailgun_event);
            BOOST_TEST(e.recipient == "lead@example.com");
            BOOST_TEST(e.message_id == "20261129.sign.1@leadhook.test");
            BOOST_TEST(mailgun::to_string(e.format) == mailgun::to_string(format));
            BOOST_TEST(test::show(e.event_time) ==
                       std::to_string(format == BodyFormat::json ? now : now / 1000000 * 1000000));
        }
    }
}

BOOST_AUTO_TEST_CASE(the_app_stores_every_combination_on_its_route) {
    for (const auto& [combination, want] : expectations()) {
        const auto& [event, format] = combination;
        if (want == "<refused>") {
            continue;
        }
        BOOST_TEST_CONTEXT(event << " as " << mailgun::to_string(format)) {
            Harness h;
            const auto w = built(request(event, format));
            const auto response = h.post(w);
            BOOST_TEST(response.status == 200, response.body);
            BOOST_TEST_REQUIRE(h.store.calls.size() == 1u);
            BOOST_TEST(mailgun::to_string(h.store.calls[0].event.type) == want);
            BOOST_TEST(h.store.calls[0].key_label == "sign");
        }
    }
}

BOOST_AUTO_TEST_CASE(json_goes_to_the_events_route_legacy_to_the_original_routes) {
    const std::map<std::string, std::string> legacy{
        {"delivered", "/api/v1/wh/mg/lead/email/delivered"},
        {"opened", "/api/v1/wh/mg/lead/email/open"},
        {"clicked", "/api/v1/wh/mg/lead/email/click"},
        {"unsubscribed", "/api/v1/wh/mg/lead/email/unsubscribe"},
        {"complained", "/api/v1/wh/mg/lead/email/spam/complaint"},
        {"bounced", "/api/v1/wh/mg/lead/email/bounced"},
        {"dropped", "/api/v1/wh/mg/lead/email/dropped"}};
    for (const auto& [event, route] : legacy) {
        BOOST_TEST(built(request(event)).route == "/api/v1/wh/mg/events");
        BOOST_TEST(built(request(event, BodyFormat::form)).route == route);
        BOOST_TEST(built(request(event, BodyFormat::multipart)).route == route);
    }
    BOOST_TEST(built(request("rejected")).route == "/api/v1/wh/mg/events");
}

BOOST_AUTO_TEST_CASE(content_types) {
    BOOST_TEST(built(request("opened")).content_type == "application/json");
    BOOST_TEST(built(request("opened", BodyFormat::form)).content_type ==
               "application/x-www-form-urlencoded");
    const auto multipart = built(request("dropped", BodyFormat::multipart));
    BOOST_TEST(multipart.content_type.starts_with("multipart/form-data; boundary=leadhook-"));
    BOOST_TEST(test::contains(multipart.body, "\r\n"));
    BOOST_TEST(multipart.body.ends_with("--\r\n"));
}

BOOST_AUTO_TEST_CASE(the_same_clock_and_randomness_give_the_same_bytes) {
    for (auto format : formats) {
        auto r = request("bounced", format);
        r.message_id.clear(); // generated from the clock and the randomness too
        BOOST_TEST(built(r).body == built(r).body);
    }
    const auto a = built(request("opened"));
    const FixedClock later{now + 1'000'000};
    const auto b = devtools::build_webhook(request("opened"), key, later, counting());
    BOOST_TEST(signature_of(*b).timestamp == "1764000001");
    BOOST_TEST(a.body != b->body);
}

BOOST_AUTO_TEST_CASE(token_event_id_and_message_id_come_from_the_randomness) {
    auto r = request("delivered");
    r.message_id.clear();
    const auto w = built(r);
    const auto params = signature_of(w);
    // 25 bytes 00..18 as hex: Mailgun's 50-character tokens.
    BOOST_TEST(params.token == "000102030405060708090a0b0c0d0e0f101112131415161718");
    const auto e = normalised(w);
    BOOST_TEST(e.mailgun_event_id.size() == 22u);
    BOOST_TEST(e.message_id == "20251124160000.1.292A2B2C2D2E2F30@leadhook.test");
}

BOOST_AUTO_TEST_CASE(timestamp_token_and_event_id_can_be_given) {
    auto r = request("opened");
    r.timestamp = "1700000000";
    r.token = "given-token";
    r.event_id = "given-id";
    const auto w = built(r);
    const auto params = signature_of(w);
    BOOST_TEST(params.timestamp == "1700000000");
    BOOST_TEST(params.token == "given-token");
    BOOST_TEST(params.signature == mailgun::sign(key, "1700000000", "given-token"));
    const auto e = normalised(w);
    BOOST_TEST(e.mailgun_event_id == "given-id");
    BOOST_TEST(test::show(e.event_time) == "1700000000000000");
    r.timestamp = "yesterday";
    BOOST_TEST(refusal(r) == "--timestamp must be whole Unix seconds");
}

BOOST_AUTO_TEST_CASE(optional_fields_arrive_in_every_format) {
    for (auto format : formats) {
        BOOST_TEST_CONTEXT(mailgun::to_string(format)) {
            auto click = request("clicked", format);
            click.ip = "203.0.113.9";
            click.url = "https://example.com/a?b=c&d=e f";
            click.tags = {"first", "second tag"};
            click.variables = {{"lead_id", "42"}, {"note", "a=b&c \"d\""}};
            const auto e = normalised(built(click));
            BOOST_TEST(e.ip == "203.0.113.9");
            BOOST_TEST(e.url == "https://example.com/a?b=c&d=e f");
            BOOST_TEST(e.tags == (std::vector<std::string>{"first", "second tag"}),
                       boost::test_tools::per_element());
            BOOST_TEST(e.user_variables.dump() == R"({"lead_id":"42","note":"a=b&c \"d\""})");

            auto drop = request("dropped", format);
            drop.reason = "old";
            drop.code = "499";
            drop.variables = {{"lead_id", "7"}};
            const auto d = normalised(built(drop));
            BOOST_TEST(d.reason == "old");
            BOOST_TEST(d.code == "499");
            BOOST_TEST(mailgun::to_string(d.type) == "dropped");
            BOOST_TEST(d.user_variables.dump() == R"({"lead_id":"7"})");
        }
    }
}

BOOST_AUTO_TEST_CASE(failures_get_realistic_defaults) {
    const auto bounce = normalised(built(request("bounced")));
    BOOST_TEST(bounce.severity == "permanent");
    BOOST_TEST(bounce.reason == "bounce");
    BOOST_TEST(bounce.code == "550");
    const auto drop = normalised(built(request("dropped")));
    BOOST_TEST(drop.reason == "suppress-bounce");
    BOOST_TEST(drop.code == "605");
    BOOST_TEST(drop.description == "Not delivering to previously bounced address");
    const auto legacy_drop = normalised(built(request("dropped", BodyFormat::multipart)));
    BOOST_TEST(legacy_drop.reason == "hardfail");
    BOOST_TEST(legacy_drop.code == "605");
    const auto legacy_bounce = normalised(built(request("bounced", BodyFormat::form)));
    BOOST_TEST(legacy_bounce.code == "550");
    BOOST_TEST(test::contains(legacy_bounce.error, "does not exist"));
    auto temporary = request("failed");
    temporary.severity = "temporary";
    const auto deferred = normalised(built(temporary));
    BOOST_TEST(mailgun::to_string(deferred.type) == "deferred");
    BOOST_TEST(deferred.reason == "generic");
    BOOST_TEST(deferred.code == "452");
    auto suppressed = request("failed");
    suppressed.reason = "suppress-unsubscribe";
    const auto s = normalised(built(suppressed));
    BOOST_TEST(mailgun::to_string(s.type) == "dropped"); // leadhook's own classify_failed
    BOOST_TEST(s.code == "606");
    const auto rejected = normalised(built(request("rejected")));
    BOOST_TEST(rejected.recipient == "lead@example.com"); // from message.headers.to
    BOOST_TEST(test::contains(rejected.reason, "Sandbox subdomains"));
}

BOOST_AUTO_TEST_CASE(a_variable_named_like_a_mailgun_field_collides_as_mailgun_sends_it) {
    auto r = request("clicked", BodyFormat::form);
    r.variables = {{"event", "user-event"}, {"token", "user-token"}};
    const auto w = built(r);
    BOOST_TEST(mailgun::check_key(signature_of(w), key).signature); // Mailgun's token is last
    const auto e = normalised(w);
    BOOST_TEST(e.mailgun_event == "clicked"); // Mailgun's event is first
    BOOST_TEST(e.user_variables.dump() == R"({"event":"user-event","token":"user-token"})");
}

BOOST_AUTO_TEST_CASE(combinations_that_never_existed_are_refused_with_what_to_do) {
    BOOST_TEST(refusal(request("failed", BodyFormat::form)) ==
               "--event failed --format form: legacy webhooks have no `failed` event: use "
               "--event bounced or --event dropped with --format form or multipart, or "
               "--format json");
    BOOST_TEST(test::contains(refusal(request("deferred", BodyFormat::multipart)),
                              "never reported temporary failures"));
    BOOST_TEST(test::contains(refusal(request("accepted", BodyFormat::form)),
                              "exists only in current (JSON) webhooks"));
    BOOST_TEST(
        test::contains(refusal(request("rejected", BodyFormat::multipart)), "use --format json"));
    BOOST_TEST(test::contains(refusal(request("stored")), "unknown event 'stored' (one of: "));

    auto bounce = request("bounced");
    bounce.reason = "suppress-bounce";
    BOOST_TEST(test::contains(refusal(bounce), "use --event dropped"));
    bounce.format = BodyFormat::multipart;
    BOOST_TEST(test::contains(refusal(bounce), "legacy bounced posts carry no reason"));
    auto drop = request("dropped");
    drop.reason = "bounce";
    BOOST_TEST(test::contains(refusal(drop), "use --event bounced"));
}

BOOST_AUTO_TEST_CASE(options_the_event_does_not_carry_are_refused) {
    auto r = request("delivered");
    r.url = "https://example.com/";
    BOOST_TEST(refusal(r) == "--url applies only to clicked, not delivered");
    r = request("delivered");
    r.ip = "127.0.0.1";
    BOOST_TEST(test::contains(refusal(r), "--ip applies only to opened, clicked"));
    r = request("opened");
    r.code = "550";
    BOOST_TEST(test::contains(refusal(r), "--code applies only to failures"));
    r = request("opened");
    r.reason = "x";
    BOOST_TEST(test::contains(refusal(r), "--reason applies only to failures and rejected"));
    r = request("bounced");
    r.severity = "temporary";
    BOOST_TEST(test::contains(refusal(r), "--severity applies only to --event failed"));
    r = request("failed");
    r.severity = "sometimes";
    BOOST_TEST(refusal(r) == "--severity must be permanent or temporary");
    r = request("opened", BodyFormat::form);
    r.event_id = "x";
    BOOST_TEST(test::contains(refusal(r), "--event-id applies only to --format json"));
}

BOOST_AUTO_TEST_CASE(bad_text_is_refused) {
    auto r = request("opened");
    r.recipient.clear();
    BOOST_TEST(refusal(r) == "--recipient is required");
    r = request("opened");
    r.recipient = "a@example.com\r\nX: y";
    BOOST_TEST(refusal(r) == "--recipient: control characters are not allowed");
    r = request("opened");
    r.tags = {"\xff"};
    BOOST_TEST(refusal(r) == "--tag: not valid UTF-8");
    r = request("opened");
    r.variables = {{"a\"b", "c"}};
    BOOST_TEST(test::contains(refusal(r), "NAME must be 1 to 200 bytes"));
    r.variables = {{"a", "1"}, {"a", "2"}};
    BOOST_TEST(refusal(r) == "--var a given twice");
    r = request("opened");
    r.token = "";
    BOOST_TEST(refusal(r) == "--token must not be empty");
    const FixedClock clock{now};
    auto empty_key = devtools::build_webhook(request("opened"), "", clock, counting());
    BOOST_TEST(!empty_key.has_value());
}

BOOST_AUTO_TEST_CASE(message_ids_with_angle_brackets_are_accepted) {
    auto r = request("delivered", BodyFormat::multipart);
    r.message_id = "<abc@example.com>";
    BOOST_TEST(normalised(built(r)).message_id == "abc@example.com");
    BOOST_TEST(test::contains(built(r).body, "\r\n\r\n<abc@example.com>\r\n"));
}

BOOST_AUTO_TEST_CASE(the_first_current_key_signs) {
    const std::vector<mailgun::SigningKey> keys{
        {"expired", "a", now - 1}, {"current", "b", now}, {"open-ended", "c", std::nullopt}};
    BOOST_TEST(devtools::first_usable_key(keys, now)->secret == "current");
    BOOST_TEST(devtools::first_usable_key(keys, now + 1)->secret == "open-ended");
    BOOST_TEST(devtools::first_usable_key(std::span(keys).first(2), now + 1) == nullptr);
}

BOOST_AUTO_TEST_CASE(event_names_lists_every_name) {
    BOOST_TEST(devtools::event_names() ==
               "delivered, opened, clicked, unsubscribed, complained, bounced, dropped, failed, "
               "permanent_fail, temporary_fail, deferred, accepted, rejected");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_sign
