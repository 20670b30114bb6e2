#include "app/app.hpp"
#include "app/router.hpp"
#include "mailgun/signature.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_webhook_handler {

using namespace leadhook;
using test::FakeStore;

namespace {

constexpr EpochMicros arrival = 1'764'000'000'123'456;
const std::string events_route = "/api/v1/wh/mg/events";

/// The corpus samples were signed years ago, so these tests turn the
/// freshness window off; test_replay_handler.cpp covers it.
app::Settings corpus_settings() {
    app::Settings settings;
    settings.keys = {{test::anymail_key, "anymail", std::nullopt},
                     {test::symfony_key, "symfony", std::nullopt}};
    settings.freshness.max_age_seconds = 0;
    return settings;
}

/// One App wired to a fake store and a log that can be read back.
struct Harness {
    app::SettingsHolder settings{corpus_settings()};
    FakeStore store;
    FixedClock clock{arrival};
    test::CapturedOutput log_out;
    obs::Logger logger{log_out.file(), clock};
    obs::Metrics metrics;
    app::App app{settings, store, logger, metrics};

    http::Response send(std::string_view method, std::string_view path,
                        std::string_view content_type, std::string body, bool too_large = false) {
        http::Request request;
        request.method = method;
        request.path = path;
        request.content_type = content_type;
        request.body = std::move(body);
        request.body_too_large = too_large;
        request.remote_addr = "203.0.113.7";
        request.request_id = "req-" + std::to_string(++m_requests);
        request.received_at = arrival;
        return app.handle(request);
    }
    http::Response post(std::string_view sample, const std::string& path = events_route) {
        return send("POST", path, test::content_type_for(sample), test::corpus(sample));
    }
    std::string log() { return log_out.text(); }

  private:
    int m_requests = 0;
};

nlohmann::json body_of(const http::Response& response) {
    return nlohmann::json::parse(response.body);
}

std::string error_of(const http::Response& response) {
    return body_of(response).at("error").get<std::string>();
}

const std::string* header(const http::Response& response, std::string_view name) {
    for (const auto& [key, value] : response.headers) {
        if (key == name) {
            return &value;
        }
    }
    return nullptr;
}

/// A legacy form with a valid signature over `timestamp` and a fixed token.
std::string signed_form(std::vector<std::pair<std::string, std::string>> fields,
                        const std::string& timestamp) {
    const std::string token = "0123456789abcdef0123456789abcdef0123456789abcdef01";
    fields.emplace_back("timestamp", timestamp);
    fields.emplace_back("token", token);
    fields.emplace_back("signature", mailgun::sign(test::anymail_key, timestamp, token));
    return test::form_body(fields);
}

} // namespace

BOOST_AUTO_TEST_SUITE(webhook_handler)

BOOST_AUTO_TEST_CASE(signed_json_is_stored) {
    Harness h;
    const auto response = h.post("anymail__delivered.json");
    BOOST_TEST(response.status == 200);
    BOOST_TEST(body_of(response) == nlohmann::json({{"l_id", 42},
                                                    {"email", "recipient@example.com"},
                                                    {"event", "delivered"},
                                                    {"status", "success"}}));
    BOOST_TEST_REQUIRE(h.store.calls.size() == 1u);
    const auto& call = h.store.calls.front();
    BOOST_TEST(mailgun::to_string(call.event.type) == "delivered");
    BOOST_TEST(call.event.recipient == "recipient@example.com");
    BOOST_TEST(call.event.message_id == "20180812211713.1.DF5966851B4BAA99@example.org");
    BOOST_TEST(call.event_time == 1534108637153125);
    BOOST_TEST(call.received_at == arrival);
    BOOST_TEST(call.token == "651869375b9df3c98fc15c4889b102119add1235c38fc92824");
    BOOST_TEST(call.signature ==
               "2a75affe24846ead9e37e614a5e7643a04abf4d5b49b34d224ede9af23a00ccc");
    BOOST_TEST(call.route == events_route);
}

BOOST_AUTO_TEST_CASE(every_key_is_tried_and_every_format_accepted) {
    Harness h;
    BOOST_TEST(h.post("symfony__failed-permanent-bounce.json").status == 200); // second key
    BOOST_TEST(h.post("anymail-legacy__dropped-605-hardfail.multipart").status == 200);
    BOOST_TEST(h.post("anymail-legacy__clicked-user-var-name-collisions.form").status == 200);
    BOOST_TEST_REQUIRE(h.store.calls.size() == 3u);
    BOOST_TEST(mailgun::to_string(h.store.calls[0].event.type) == "bounced");
    BOOST_TEST(mailgun::to_string(h.store.calls[1].event.type) == "dropped");
    BOOST_TEST(h.store.calls[1].event_time == 1461261330000000);
    BOOST_TEST(h.store.calls[2].token == "actual-event-token");
}

BOOST_AUTO_TEST_CASE(unmatched_lead_is_200_unmatched) {
    Harness h;
    h.store.lead_id = std::nullopt;
    const auto response = h.post("anymail__opened.json");
    BOOST_TEST(response.status == 200);
    const auto body = body_of(response);
    BOOST_TEST(body.at("status") == "unmatched");
    BOOST_TEST(body.at("l_id").is_null());
    BOOST_TEST(body.at("event") == "opened");
    BOOST_TEST(test::contains(h.log(), "outcome=unmatched"));
}

BOOST_AUTO_TEST_CASE(bad_or_missing_signature_is_409_and_not_stored) {
    Harness h;
    const auto bad = h.post("anymail__NEG-bad-signature.json");
    BOOST_TEST(bad.status == 409);
    BOOST_TEST(test::contains(error_of(bad), "signature"));
    const auto api_key =
        h.post("anymail__delivered-signed-with-api-key.json"); // key not configured
    BOOST_TEST(api_key.status == 409);
    const auto missing = h.post("anymail__NEG-missing-signature.json");
    BOOST_TEST(missing.status == 409);
    BOOST_TEST(test::contains(error_of(missing), "missing signature"));
    BOOST_TEST(h.store.calls.empty());
}

BOOST_AUTO_TEST_CASE(unprocessable_bodies_are_406) {
    Harness h;
    const auto malformed = h.send("POST", events_route, "application/json", "{\"event-data\":");
    BOOST_TEST(malformed.status == 406);
    BOOST_TEST(error_of(malformed) == "body is not valid JSON");
    const auto text = h.send("POST", events_route, "text/plain", "hello");
    BOOST_TEST(text.status == 406);
    BOOST_TEST(test::contains(error_of(text), "unsupported Content-Type text/plain"));
    const auto no_type = h.send("POST", events_route, "", test::corpus("anymail__delivered.json"));
    BOOST_TEST(no_type.status == 406);
    const auto inbound = h.post("anymail-legacy__NEG-inbound-route-payload.form");
    BOOST_TEST(inbound.status == 406);
    BOOST_TEST(test::contains(error_of(inbound), "inbound"));
    // Signed, but a form without `event` on the route that implies nothing.
    const auto no_event =
        h.send("POST", events_route, test::form_type, signed_form({{"recipient", "a@b.c"}}, "1"));
    BOOST_TEST(no_event.status == 406);
    BOOST_TEST(h.store.calls.empty());
}

BOOST_AUTO_TEST_CASE(legacy_form_without_event_takes_the_route_type) {
    Harness h;
    const std::string route = "/api/v1/wh/mg/lead/email/bounced";
    const auto response =
        h.send("POST", route, test::form_type,
               signed_form({{"recipient", "lead@example.com"}, {"code", "550"}}, "1700000000"));
    BOOST_TEST(response.status == 200);
    BOOST_TEST(body_of(response).at("event") == "bounced");
    BOOST_TEST_REQUIRE(h.store.calls.size() == 1u);
    BOOST_TEST(mailgun::to_string(h.store.calls[0].event.type) == "bounced");
    BOOST_TEST(h.store.calls[0].event.code == "550");
    BOOST_TEST(h.store.calls[0].event_time == 1700000000000000);
    BOOST_TEST(h.store.calls[0].route == route);
}

BOOST_AUTO_TEST_CASE(event_time_falls_back_to_the_signature) {
    Harness h;
    BOOST_TEST(h.post("anymail__accepted-null-delivery-status.json").status == 200);
    // A timestamp that is not whole seconds is refused even with the window
    // off (this harness's): signed text, but no time Mailgun would send.
    BOOST_TEST(h.send("POST", "/api/v1/wh/mg/lead/email/open", test::form_type,
                      signed_form({{"event", "opened"}}, "not-a-number"))
                   .status == 409);
    BOOST_TEST_REQUIRE(h.store.calls.size() == 1u);
    BOOST_TEST(h.store.calls[0].event_time == 1234567890000000);
}

BOOST_AUTO_TEST_CASE(routing_answers) {
    Harness h;
    const auto unknown = h.send("POST", "/api/v1/nope", test::form_type, "event=delivered");
    BOOST_TEST(unknown.status == 404);
    const auto get = h.send("GET", events_route, "", "");
    BOOST_TEST(get.status == 405);
    BOOST_TEST_REQUIRE(header(get, "Allow") != nullptr);
    BOOST_TEST(*header(get, "Allow") == "POST");
    const auto post_index = h.send("POST", "/api/v1", test::form_type, "");
    BOOST_TEST(post_index.status == 405);
    BOOST_TEST(*header(post_index, "Allow") == "GET, HEAD");
    const auto index = h.send("GET", "/api/v1/index", "", "");
    BOOST_TEST(index.status == 200);
    BOOST_TEST(index.body == app::index_json());
    const auto head = h.send("HEAD", "/api", "", "");
    BOOST_TEST(head.status == 200);
    BOOST_TEST(head.body.empty());
    BOOST_TEST(h.store.calls.empty());
}

BOOST_AUTO_TEST_CASE(too_large_is_413) {
    Harness h;
    const auto response = h.send("POST", events_route, "application/json", "", /*too_large=*/true);
    BOOST_TEST(response.status == 413);
    BOOST_TEST(h.store.calls.empty());
    // What the edge refused to read is answered first, whatever the route
    // and method: a request whose parameters were refused has neither.
    BOOST_TEST(h.send("POST", "/nowhere", "application/json", "", true).status == 413);
    BOOST_TEST(h.send("GET", events_route, "", "", true).status == 413);
}

BOOST_AUTO_TEST_CASE(a_body_over_the_bytes_in_flight_is_503_with_retry_after) {
    Harness h;
    http::Request request{.method = "POST",
                          .path = events_route,
                          .content_type = "application/json",
                          .over_budget = true,
                          .request_id = "req-busy",
                          .received_at = arrival};
    const auto response = h.app.handle(request);
    BOOST_TEST(response.status == 503);
    BOOST_TEST(test::contains(response.body, "too many request bytes in flight, retry later"));
    const bool retry_after =
        std::any_of(response.headers.begin(), response.headers.end(),
                    [](const auto& header) { return header.first == "Retry-After"; });
    BOOST_TEST(retry_after);
    BOOST_TEST(h.store.calls.empty());
    BOOST_TEST(test::contains(h.log(), "status=503 outcome=busy"));
}

BOOST_AUTO_TEST_CASE(a_body_not_as_declared_is_400_and_never_stored) {
    Harness h;
    http::Request request;
    request.method = "POST";
    request.path = std::string(events_route);
    request.content_type = "application/json";
    request.body = "{}";
    request.body_error = "request body is 2 bytes but CONTENT_LENGTH says 9";
    const auto response = h.app.handle(request);
    BOOST_TEST(response.status == 400);
    BOOST_TEST(response.body.find("CONTENT_LENGTH says 9") != std::string::npos);
    BOOST_TEST(h.store.calls.empty());
}

BOOST_AUTO_TEST_CASE(store_failures) {
    Harness h;
    h.store.mode = FakeStore::Mode::unavailable;
    const auto away = h.post("anymail__delivered.json");
    BOOST_TEST(away.status == 503);
    BOOST_TEST(header(away, "Retry-After") != nullptr);
    BOOST_TEST(!test::contains(away.body, "08006")); // the cause goes to the log only
    h.store.mode = FakeStore::Mode::internal;
    const auto broken = h.post("anymail__delivered.json");
    BOOST_TEST(broken.status == 500);
    BOOST_TEST(error_of(broken) == "internal error");
    const auto lines = test::lines_of(h.log());
    BOOST_TEST_REQUIRE(lines.size() == 2u);
    BOOST_TEST(test::contains(lines[0], "level=error"));
    BOOST_TEST(test::contains(lines[0], "status=503"));
    BOOST_TEST(test::contains(lines[0], "08006"));
    BOOST_TEST(test::contains(lines[1], "status=500"));
    BOOST_TEST(test::contains(lines[1], "42P01"));
}

BOOST_AUTO_TEST_CASE(a_throwing_store_is_caught_as_500_and_logged_once) {
    Harness h;
    h.store.mode = FakeStore::Mode::throws;
    const auto response = h.post("anymail__delivered.json");
    BOOST_TEST(response.status == 500);
    BOOST_TEST(error_of(response) == "internal error");
    BOOST_TEST(!test::contains(response.body, "exploded"));
    const std::string log = h.log();
    BOOST_TEST(std::count(log.begin(), log.end(), '\n') == 1);
    BOOST_TEST(test::contains(log, "status=500"));
    BOOST_TEST(test::contains(log, "fake store exploded"));
}

BOOST_AUTO_TEST_CASE(one_log_line_per_request_without_secrets) {
    Harness h;
    const std::vector<std::string> samples{
        "anymail__delivered.json", "anymail__NEG-bad-signature.json",
        "anymail-legacy__clicked-user-var-name-collisions.form", "symfony__opened.json"};
    for (const auto& sample : samples) {
        h.post(sample);
    }
    h.send("GET", "/nowhere", "", "");
    const auto lines = test::lines_of(h.log());
    BOOST_TEST_REQUIRE(lines.size() == samples.size() + 1);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        BOOST_TEST_CONTEXT(lines[i]) {
            BOOST_TEST(lines[i].starts_with("ts="));
            BOOST_TEST(test::contains(lines[i], " req=req-" + std::to_string(i + 1) + " "));
            BOOST_TEST(test::contains(lines[i], " status="));
            BOOST_TEST(test::contains(lines[i], " remote=203.0.113.7"));
        }
    }
    BOOST_TEST(test::contains(lines[0], "status=200"));
    BOOST_TEST(test::contains(lines[0], "event=delivered"));
    BOOST_TEST(test::contains(lines[0], "lead=42"));
    BOOST_TEST(test::contains(lines[1], "status=409"));
    BOOST_TEST(test::contains(lines[4], "status=404"));
    const std::string log = h.log();
    for (const std::string& secret :
         {test::anymail_key, test::symfony_key, std::string("651869375b9df3c98fc15c4889b102119add"),
          std::string("2a75affe24846ead9e37e614a5e7643a04abf4d5"), std::string("1234567890abcdef"),
          std::string("42c47761582dcf51d81aaec6b37f4ae0f57a836f"),
          std::string("actual-event-token"),
          std::string("85eb32bd2abe0c0c60635e8718d6722a918c02be"),
          std::string("bbb203bc8d6602b6b22e4ce88a074f73fecb68d3"),
          std::string("695c5558b2f9b7a05c73081c860688595fde006c")}) {
        BOOST_TEST(!test::contains(log, secret), "log leaks " << secret);
    }
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_webhook_handler
