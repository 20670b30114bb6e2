#include "body/json.hpp"
#include "mailgun/normalize.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_normalize {

using namespace leadhook;
using mailgun::EventType;
using nlohmann::json;

namespace {

using Tags = std::vector<std::string>;

/// A corpus sample normalised as the /events route would; bare event-data
/// objects are wrapped in an envelope first.
Expected<mailgun::Event, mailgun::Unprocessable> normalize_sample(const std::string& name) {
    if (name.starts_with("docs-event-data/")) {
        return mailgun::normalize_json(json{{"event-data", json::parse(test::corpus(name))}});
    }
    return mailgun::normalize(test::corpus_payload(name), std::nullopt);
}

mailgun::Event sample(const std::string& name) {
    auto event = normalize_sample(name);
    BOOST_TEST_REQUIRE(event.has_value(), name << ": " << test::error_text(event));
    return std::move(event).value();
}

mailgun::Event from_form(std::string_view body, std::optional<EventType> route = std::nullopt,
                         std::string_view type = test::form_type) {
    auto event = mailgun::normalize(mailgun::parse_payload(type, body).value(), route);
    BOOST_TEST_REQUIRE(event.has_value(), test::error_text(event));
    return std::move(event).value();
}

std::string error_of(const json& body) {
    auto event = mailgun::normalize_json(body);
    return event ? "<normalised>" : event.error().message;
}

} // namespace

BOOST_AUTO_TEST_SUITE(normalize)

BOOST_AUTO_TEST_CASE(every_corpus_sample_has_its_expected_type) {
    std::set<std::string> seen;
    for (const auto& name : test::corpus_samples()) {
        if (name.ends_with(".INVALID-JSON.txt")) {
            BOOST_TEST(!body::parse_json(test::corpus(name)).has_value(), name);
            continue;
        }
        BOOST_TEST_CONTEXT(name) {
            const auto want = test::corpus_expected_types().find(name);
            BOOST_TEST_REQUIRE((want != test::corpus_expected_types().end()),
                               "no expected type for " << name);
            auto event = normalize_sample(name);
            BOOST_TEST((event ? std::string(mailgun::to_string(event->type)) : "<refused>") ==
                       want->second);
            seen.insert(name);
        }
    }
    BOOST_TEST(seen.size() ==
               test::corpus_expected_types().size()); // every listed sample still exists
}

// The handler hands its Payload over (the event-data tree is moved into the
// Event); everything else normalises a Payload it keeps. Both read the same.
BOOST_AUTO_TEST_CASE(a_payload_moved_in_normalises_as_one_copied) {
    for (const auto& name : test::corpus_samples()) {
        if (name.ends_with(".INVALID-JSON.txt") || name.starts_with("docs-event-data/")) {
            continue;
        }
        BOOST_TEST_CONTEXT(name) {
            const mailgun::Payload kept = test::corpus_payload(name);
            const auto copied = mailgun::normalize(kept, std::nullopt);
            auto moved = mailgun::normalize(test::corpus_payload(name), std::nullopt);
            BOOST_TEST_REQUIRE(copied.has_value() == moved.has_value());
            if (copied) {
                BOOST_TEST(moved->payload == copied->payload);
                BOOST_TEST(moved->user_variables == copied->user_variables);
                BOOST_TEST(moved->tags == copied->tags, boost::test_tools::per_element());
                BOOST_TEST(moved->recipient == copied->recipient);
                BOOST_TEST(moved->message_id == copied->message_id);
                BOOST_TEST(moved->mailgun_event_id == copied->mailgun_event_id);
                BOOST_TEST((moved->type == copied->type));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(failed_is_classified_by_severity_and_reason) {
    BOOST_TEST(mailgun::to_string(sample("symfony__failed-permanent-bounce.json").type) ==
               "bounced");
    const auto suppressed = sample("symfony__failed-permanent-suppress-bounce.json");
    BOOST_TEST(suppressed.mailgun_event == "failed");
    BOOST_TEST(suppressed.severity == "permanent");
    BOOST_TEST(suppressed.reason == "suppress-bounce");
    BOOST_TEST(suppressed.code == "605");
    BOOST_TEST(suppressed.description == "Not delivering to previously bounced address");
    BOOST_TEST((mailgun::classify_failed("temporary", "bounce") == EventType::deferred));
    BOOST_TEST((mailgun::classify_failed("permanent", "old") == EventType::dropped));
    BOOST_TEST((mailgun::classify_failed("", "") == EventType::dropped));
}

BOOST_AUTO_TEST_CASE(json_delivered_fields) {
    const auto e = sample("anymail__delivered.json");
    BOOST_TEST(e.mailgun_event == "delivered");
    BOOST_TEST(e.recipient == "recipient@example.com");
    BOOST_TEST(e.message_id == "20180812211713.1.DF5966851B4BAA99@example.org");
    BOOST_TEST(e.mailgun_event_id == "hTWCTD81RtiDN-...");
    BOOST_TEST(test::show(e.event_time) == "1534108637153125"); // float seconds -> microseconds
    BOOST_TEST(e.domain == "example.org");                      // from envelope.sender
    BOOST_TEST(e.code == "250");
    BOOST_TEST(e.error == "OK");
    BOOST_TEST(e.description == "");
    BOOST_TEST(e.tags.empty());
    BOOST_TEST(e.user_variables == json::object());
    BOOST_TEST((e.format == mailgun::BodyFormat::json));
    BOOST_TEST(e.payload == json::parse(test::corpus("anymail__delivered.json")).at("event-data"));
    // Microsecond precision survives the double: .000002 is not rounded away.
    BOOST_TEST(test::show(sample("symfony__delivered.json").event_time) == "1521472262000002");
}

BOOST_AUTO_TEST_CASE(json_failures_keep_code_error_and_description) {
    const auto bounce = sample("anymail__failed-permanent-bounce.json");
    BOOST_TEST(bounce.code == "550");
    BOOST_TEST(bounce.error.starts_with("5.1.1 The email account that you tried to reach"));
    BOOST_TEST(bounce.reason == "bounce");
    const auto no_description = sample("symfony__failed-permanent-no-description.json");
    BOOST_TEST(no_description.description == "");
    BOOST_TEST(no_description.error == "No Such User Here");
    const auto deferred = sample("anymail__failed-temporary-greylisted.json");
    BOOST_TEST(deferred.code == "450");
    BOOST_TEST(deferred.description == "Recipient address rejected: Greylisted");
}

BOOST_AUTO_TEST_CASE(rejected_takes_the_recipient_from_the_to_header) {
    const auto e = sample("anymail__rejected.json");
    BOOST_TEST(e.recipient == "recipient@example.org");
    BOOST_TEST(e.reason == "Sandbox subdomains are for test purposes only.");
    BOOST_TEST(e.message_id == "20180622220256.1.B31A451A2E5422BB@sandbox55887.mailgun.org");
}

BOOST_AUTO_TEST_CASE(opened_and_clicked_carry_client_geolocation_and_ip) {
    const auto open = sample("anymail__opened.json");
    BOOST_TEST(open.ip == "888.222.444.111");
    BOOST_TEST(open.country == "US");
    BOOST_TEST(open.region == "CA");
    BOOST_TEST(open.city == "San Francisco");
    BOOST_TEST(open.device_type == "desktop");
    BOOST_TEST(open.client_type == "browser");
    BOOST_TEST(open.client_name == "Chrome");
    BOOST_TEST(open.client_os == "OS X");
    BOOST_TEST(open.user_agent == "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_6)...");
    BOOST_TEST(open.tags == (Tags{"welcome", "variation-A"}), boost::test_tools::per_element());
    BOOST_TEST(open.user_variables == json({{"cohort", "2018-08-B"}, {"user_id", "123456"}}));
    const auto click = sample("symfony__clicked.json");
    BOOST_TEST(click.ip == "50.56.129.169");
    BOOST_TEST(click.client_os == "Linux");
    BOOST_TEST(click.url == ""); // dashboard test clicks have no url
    BOOST_TEST(sample("anymail__clicked.json").url == "https://example.com/test");
}

BOOST_AUTO_TEST_CASE(tolerated_oddities) {
    const auto accepted = sample("anymail__accepted-null-delivery-status.json");
    BOOST_TEST(accepted.code == "");
    BOOST_TEST(accepted.error == "");
    BOOST_TEST(!accepted.event_time.has_value());
    const std::string note = "Could not load user-variables. They were either truncated or "
                             "invalid JSON";
    auto e = mailgun::normalize_json(json{{"event-data",
                                           {{"event", "delivered"},
                                            {"user-variables", note},
                                            {"tags", "not-a-list"},
                                            {"timestamp", "1529692198.1"},
                                            {"delivery-status", "odd"}}}});
    BOOST_TEST_REQUIRE(e.has_value());
    BOOST_TEST(e->user_variables == json(note));
    BOOST_TEST(e->tags.empty());
    BOOST_TEST(!e->event_time.has_value()); // a string timestamp is not guessed at
    BOOST_TEST(e->code == "");
    auto unknown = mailgun::normalize_json(json{{"event-data", {{"event", "list_uploaded"}}}});
    BOOST_TEST_REQUIRE(unknown.has_value());
    BOOST_TEST(mailgun::to_string(unknown->type) == "unknown");
    BOOST_TEST(unknown->mailgun_event == "list_uploaded");
}

BOOST_AUTO_TEST_CASE(legacy_delivered_fields) {
    const auto e = sample("anymail-legacy__delivered.form");
    BOOST_TEST(e.message_id == "20160421175529.19495.89030.B3AE3728@example.com"); // <> stripped
    BOOST_TEST(e.recipient == "recipient@example.com");
    BOOST_TEST(e.domain == "example.com");
    BOOST_TEST(test::show(e.event_time) == "1461261330000000"); // integer seconds
    BOOST_TEST(e.user_variables == json::object());
    BOOST_TEST((e.format == mailgun::BodyFormat::form));
    BOOST_TEST(from_form("event=opened&message-id=abc%40example.com").message_id ==
               "abc@example.com");
}

BOOST_AUTO_TEST_CASE(legacy_bounces_and_drops) {
    const auto b550 = sample("anymail-legacy__bounced-550.multipart");
    BOOST_TEST(b550.code == "550");
    BOOST_TEST(b550.error.starts_with("550 5.1.1 The email account that you tried to reach"));
    BOOST_TEST(b550.recipient == "noreply@example.com");
    BOOST_TEST((b550.format == mailgun::BodyFormat::multipart));
    BOOST_TEST(sample("anymail-legacy__bounced-code-5.1.1.multipart").code == "5.1.1");
    const auto d605 = sample("anymail-legacy__dropped-605-hardfail.multipart");
    BOOST_TEST(d605.code == "605");
    BOOST_TEST(d605.reason == "hardfail");
    BOOST_TEST(d605.description == "Not delivering to previously bounced address");
    BOOST_TEST(d605.message_id == "20160421180324.70521.79375.96884DDB@example.com");
    const auto d607 = sample("anymail-legacy__dropped-607-spam.multipart");
    BOOST_TEST(d607.code == "607");
    BOOST_TEST(d607.reason == "hardfail");
    BOOST_TEST(d607.description == "Not delivering to a user who marked your messages as spam");
    const auto d499 = sample("anymail-legacy__dropped-499-old.multipart");
    BOOST_TEST(d499.code == "499");
    BOOST_TEST(d499.reason == "old");
    BOOST_TEST(d499.description == "Unable to connect to MX servers: [example.com]");
    BOOST_TEST(from_form("event=bounced&notification=mailbox+full").error == "mailbox full");
}

BOOST_AUTO_TEST_CASE(legacy_tags) {
    BOOST_TEST(sample("anymail-legacy__opened-tags.form").tags == (Tags{"tag1", "tag2"}),
               boost::test_tools::per_element());
    BOOST_TEST(sample("anymail-legacy__delivered-x-mailgun-tag.form").tags ==
                   (Tags{"tag1", "tag2"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(legacy_user_variables) {
    const json custom = {{"custom1", "value1"}, {"custom2", R"({"key":"value"})"}};
    BOOST_TEST(sample("anymail-legacy__delivered-x-mailgun-variables.form").user_variables ==
               custom);
    BOOST_TEST(sample("anymail-legacy__clicked-custom-vars.form").user_variables == custom);
    // The headers win over posted fields, and several headers are merged.
    const auto e = from_form(test::form_body(
        {{"event", "delivered"},
         {"extra", "field"},
         {"message-headers", R"([["X-Mailgun-Variables", "{\"a\": 1}"], ["To", "x@y.z"],
                                 ["X-Mailgun-Variables", "{\"b\": 2}"]])"}}));
    BOOST_TEST(e.user_variables == json({{"a", 1}, {"b", 2}}));
}

BOOST_AUTO_TEST_CASE(deeply_nested_header_variables_are_ignored_not_recursed) {
    // Copying or storing a value nested this deep would recurse once per level
    // and overflow a worker's stack; such variables count as unparseable.
    const std::string deep = std::string(200000, '[') + std::string(200000, ']');
    const std::string headers = R"([["X-Mailgun-Variables", "{\"a\": )" + deep + R"(}"]])";
    const auto e = from_form(test::form_body(
        {{"event", "delivered"}, {"extra", "field"}, {"message-headers", headers}}));
    BOOST_TEST(e.user_variables == json({{"extra", "field"}}));
    const auto outer = from_form(
        test::form_body({{"event", "delivered"}, {"message-headers", std::string(200000, '[')}}));
    BOOST_TEST(outer.user_variables == json::object());
    // Within the bound they are read as before.
    const std::string nested = std::string(60, '[') + std::string(60, ']');
    const auto ok = from_form(test::form_body(
        {{"event", "delivered"},
         {"message-headers", R"([["X-Mailgun-Variables", "{\"a\": )" + nested + R"(}"]])"}}));
    BOOST_TEST(ok.user_variables.at("a").is_array());
}

BOOST_AUTO_TEST_CASE(legacy_name_collisions) {
    const auto e = sample("anymail-legacy__clicked-user-var-name-collisions.form");
    BOOST_TEST(e.mailgun_event == "clicked");                   // Mailgun's value first
    BOOST_TEST(e.recipient == "actual-recipient@example.com");  // Mailgun's value first
    BOOST_TEST(test::show(e.event_time) == "1461261330000000"); // timestamp: Mailgun's last
    BOOST_TEST(e.url == "http://clicked.example.com/actual/event/param");
    BOOST_TEST(e.tags == (Tags{"actual-tag-1", "actual-tag-2"}), boost::test_tools::per_element());
    BOOST_TEST(e.user_variables == json({{"event", "metadata-event"},
                                         {"recipient", "metadata-recipient"},
                                         {"token", "metadata-token"},
                                         {"timestamp", "metadata-timestamp"},
                                         {"signature", "metadata-signature"},
                                         {"ordinary field", "ordinary metadata value"}}));
    // The payload keeps every value: repeated names become arrays.
    BOOST_TEST(e.payload.at("event") == json({"clicked", "metadata-event"}));
    BOOST_TEST(e.payload.at("tag") == json({"actual-tag-1", "actual-tag-2"}));
    BOOST_TEST(e.payload.at("url") == json("http://clicked.example.com/actual/event/param"));
}

BOOST_AUTO_TEST_CASE(legacy_client_fields) {
    const auto e = from_form("event=opened&ip=10.0.0.1&country=US&region=CA&city=Unknown&"
                             "device-type=mobile&client-type=mobile+browser&client-name=Safari&"
                             "client-os=iOS&user-agent=Mozilla%2F5.0&tag=a&tag=b&tag=c");
    BOOST_TEST(e.ip == "10.0.0.1");
    BOOST_TEST(e.city == "Unknown");
    BOOST_TEST(e.device_type == "mobile");
    BOOST_TEST(e.client_type == "mobile browser");
    BOOST_TEST(e.client_name == "Safari");
    BOOST_TEST(e.client_os == "iOS");
    BOOST_TEST(e.user_agent == "Mozilla/5.0");
    BOOST_TEST(e.payload.at("tag") == json({"a", "b", "c"}));
}

BOOST_AUTO_TEST_CASE(multipart_attachments_are_recorded_by_name_and_size_only) {
    const std::string mime = "Subject: secret original\r\n\r\nbody";
    const std::string body =
        "--B\r\nContent-Disposition: form-data; name=\"event\"\r\n\r\nbounced\r\n"
        "--B\r\nContent-Disposition: form-data; name=\"attachment-1\"; "
        "filename=\"message.mime\"\r\nContent-Type: message/rfc822\r\n\r\n" +
        mime + "\r\n--B--\r\n";
    const auto e = from_form(body, std::nullopt, "multipart/form-data; boundary=B");
    BOOST_TEST(e.payload.at("attachment-1") ==
               json({{"filename", "message.mime"}, {"size", mime.size()}}));
    BOOST_TEST(!test::contains(e.payload.dump(), "secret original"));
    BOOST_TEST(!e.user_variables.contains("attachment-1"));
}

BOOST_AUTO_TEST_CASE(refused_payloads) {
    auto inbound = mailgun::normalize(
        test::corpus_payload("anymail-legacy__NEG-inbound-route-payload.form"), EventType::bounced);
    BOOST_TEST_REQUIRE(!inbound.has_value());
    BOOST_TEST(test::contains(inbound.error().message, "inbound"));
    auto no_event = mailgun::normalize(
        mailgun::parse_payload(test::form_type, "recipient=a%40b.c&timestamp=1").value(),
        std::nullopt);
    BOOST_TEST_REQUIRE(!no_event.has_value());
    BOOST_TEST(no_event.error().message == "form body has no event field");
    BOOST_TEST(error_of(json{{"signature", json::object()}}) ==
               "JSON body has no event-data object");
    BOOST_TEST(error_of(json{{"event-data", "delivered"}}) == "JSON body has no event-data object");
    BOOST_TEST(error_of(json{{"event-data", {{"recipient", "a@b.c"}}}}) ==
               "event-data has no event");
    BOOST_TEST(error_of(json{{"event-data", {{"event", nullptr}}}}) == "event-data has no event");
}

BOOST_AUTO_TEST_CASE(the_route_implies_the_type_only_without_an_event_field) {
    const auto implied = from_form("recipient=a%40b.c&timestamp=1", EventType::bounced);
    BOOST_TEST(mailgun::to_string(implied.type) == "bounced");
    BOOST_TEST(implied.mailgun_event == "bounced");
    BOOST_TEST(implied.recipient == "a@b.c");
    const auto own = from_form("event=delivered", EventType::bounced);
    BOOST_TEST(mailgun::to_string(own.type) == "delivered");
    auto json_event =
        mailgun::normalize(test::corpus_payload("anymail__opened.json"), EventType::bounced);
    BOOST_TEST_REQUIRE(json_event.has_value());
    BOOST_TEST(mailgun::to_string(json_event->type) == "opened");
}

BOOST_AUTO_TEST_CASE(names_and_message_ids) {
    for (int i = 0; i <= static_cast<int>(EventType::unknown); ++i) {
        const auto type = static_cast<EventType>(i);
        BOOST_TEST((mailgun::event_type_from_name(mailgun::to_string(type)) == type));
    }
    BOOST_TEST(mailgun::to_string(mailgun::event_type_from_name("failed")) == "unknown");
    BOOST_TEST(mailgun::to_string(mailgun::event_type_from_name("Delivered")) == "unknown");
    BOOST_TEST(mailgun::bare_message_id("<a@b>") == "a@b");
    BOOST_TEST(mailgun::bare_message_id("  < a@b >\r\n") == "a@b");
    BOOST_TEST(mailgun::bare_message_id("a@b") == "a@b");
    BOOST_TEST(mailgun::bare_message_id("<a@b") == "<a@b");
    BOOST_TEST(mailgun::bare_message_id("<>") == "");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_normalize
