#include "mailgun/api.hpp"
#include "mailgun/normalize.hpp"
#include "support.hpp"
#include "util/rfc3339.hpp"

#include <boost/test/unit_test.hpp>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_mailgun_api {

using namespace leadhook;
using namespace leadhook::mailgun;
using nlohmann::json;

namespace {

constexpr EpochMicros dec_1 = 1764547200000000; // 2025-12-01T00:00:00Z
const api::Range day{dec_1, dec_1 + 86400000000};

} // namespace

BOOST_AUTO_TEST_SUITE(mailgun_api)

BOOST_AUTO_TEST_CASE(logs_requests_follow_the_published_shape) {
    const auto first = api::events_call(api::Source::logs, "https://api.eu.mailgun.net/",
                                        "mg.example.com", day, std::nullopt);
    BOOST_TEST(first.method == "POST");
    BOOST_TEST(first.url == "https://api.eu.mailgun.net/v1/analytics/logs");
    const json expected = json::parse(R"({
        "start": "Mon, 01 Dec 2025 00:00:00 +0000", "end": "Tue, 02 Dec 2025 00:00:00 +0000",
        "filter": {"AND": [{"attribute": "domain", "comparator": "=",
                            "values": [{"label": "mg.example.com", "value": "mg.example.com"}]}]},
        "pagination": {"sort": "timestamp:asc", "limit": 100}})");
    BOOST_TEST(json::parse(first.json_body) == expected);
    const auto next = api::events_call(api::Source::logs, "https://api.mailgun.net",
                                       "mg.example.com", day, std::string("tok-2"));
    BOOST_TEST(json::parse(next.json_body)["pagination"]["token"] == "tok-2");
}

BOOST_AUTO_TEST_CASE(events_requests_name_the_range_in_seconds_ascending) {
    const auto first = api::events_call(api::Source::events, "https://api.mailgun.net",
                                        "mg.example.com", day, std::nullopt);
    BOOST_TEST(first.method == "GET");
    BOOST_TEST(first.url == "https://api.mailgun.net/v3/mg.example.com/events?begin=1764547200"
                            "&end=1764633600&ascending=yes&limit=300");
    const std::string page = "https://api.mailgun.net/v3/mg.example.com/events/W3siYiI6";
    BOOST_TEST(api::events_call(api::Source::events, "https://api.mailgun.net", "mg.example.com",
                                day, page)
                   .url == page);
}

BOOST_AUTO_TEST_CASE(pages_end_where_each_api_says) {
    const auto logs = api::parse_event_page(
        api::Source::logs, R"({"items": [{"id": "a"}], "pagination": {"next": "t2"}})", "t1");
    BOOST_TEST(logs->items.size() == 1u);
    BOOST_TEST(test::show(logs->next) == "t2");
    // The live last page: "pagination": {}; a token that comes back would loop.
    BOOST_TEST(!api::parse_event_page(api::Source::logs, R"({"items": [{}], "pagination": {}})",
                                      std::nullopt)
                    ->next);
    BOOST_TEST(!api::parse_event_page(api::Source::logs,
                                      R"({"items": [{}], "pagination": {"next": "t1"}})", "t1")
                    ->next);
    // Events: next is always there; a page without items is the end.
    const auto events = api::parse_event_page(
        api::Source::events, R"({"items": [{}], "paging": {"next": "https://x/n"}})", std::nullopt);
    BOOST_TEST(test::show(events->next) == "https://x/n");
    BOOST_TEST(!api::parse_event_page(api::Source::events,
                                      R"({"items": [], "paging": {"next": "https://x/n"}})",
                                      std::nullopt)
                    ->next);
    BOOST_TEST(!api::parse_event_page(api::Source::events,
                                      R"({"items": [{}], "paging": {"next": "https://x/n"}})",
                                      std::string("https://x/n"))
                    ->next);
    BOOST_TEST(!api::parse_event_page(api::Source::events, "Forbidden", std::nullopt));
    BOOST_TEST(!api::parse_event_page(api::Source::logs, R"({"pagination": {}})", std::nullopt));
}

BOOST_AUTO_TEST_CASE(next_pages_must_stay_on_the_api_host) {
    const std::string_view base = "https://api.mailgun.net";
    BOOST_TEST(api::same_origin("https://api.mailgun.net/v3/d/events/x", base));
    BOOST_TEST(api::same_origin("https://API.mailgun.net/v3/d/events/x", base));
    BOOST_TEST(!api::same_origin("http://api.mailgun.net/v3/d/events/x", base));
    BOOST_TEST(!api::same_origin("https://api.mailgun.net.example/v3", base));
    BOOST_TEST(!api::same_origin("https://api.mailgun.net@example.org/v3", base));
    BOOST_TEST(!api::same_origin("https://api.mailgun.net:8443/v3", base));
    BOOST_TEST(!api::same_origin("/v3/d/events/x", base));
}

BOOST_AUTO_TEST_CASE(events_api_items_normalise_exactly_as_their_webhooks) {
    int compared = 0;
    for (const auto& path : test::corpus_files(".json")) {
        const json body = json::parse(test::read_file(path), nullptr, false);
        if (!body.is_object() || !body.contains("event-data")) {
            continue;
        }
        const auto webhook = normalize_json(body);
        const auto item = api::normalize_item(body["event-data"]);
        BOOST_TEST(webhook.has_value() == item.has_value(), path);
        if (webhook && item) {
            BOOST_TEST((webhook->type == item->type), path);
            BOOST_TEST(test::show(webhook->event_time) == test::show(item->event_time), path);
            BOOST_TEST(webhook->message_id == item->message_id, path);
            BOOST_TEST(webhook->user_variables == item->user_variables, path);
            BOOST_TEST(webhook->payload == item->payload, path);
            ++compared;
        }
    }
    BOOST_TEST(compared >= 15);
}

BOOST_AUTO_TEST_CASE(logs_items_give_the_same_event_to_the_millisecond) {
    json data = json::parse(test::corpus("anymail__opened.json"))["event-data"];
    const auto webhook = normalize_json(json{{"event-data", data}});
    data.erase("timestamp");
    data["@timestamp"] = "2018-08-12T21:33:20.089Z"; // 1534109600.089676, truncated
    data["user-variables"] = webhook->user_variables.dump();
    const auto item = api::normalize_item(data);
    BOOST_TEST(*item->event_time == 1534109600089000);
    BOOST_TEST(*webhook->event_time - *item->event_time < 1000);
    BOOST_TEST(item->user_variables == webhook->user_variables);
    BOOST_TEST(item->tags == webhook->tags);
    BOOST_TEST(item->recipient == webhook->recipient);
    data["user-variables"] = "not json";
    BOOST_TEST(api::normalize_item(data)->user_variables == json::object());
    BOOST_TEST(!api::normalize_item(json::array()));
}

BOOST_AUTO_TEST_CASE(only_webhook_events_are_stored) {
    for (const char* name : {"accepted", "delivered", "failed", "opened", "clicked", "unsubscribed",
                             "complained", "rejected", "stored"}) {
        BOOST_TEST(api::is_webhook_event(name), name);
    }
    for (const char* name : {"unique_opened", "unique_clicked", "trapped", "list_uploaded", ""}) {
        BOOST_TEST(!api::is_webhook_event(name), name);
    }
}

BOOST_AUTO_TEST_CASE(suppression_lists_read_as_mailgun_sends_them) {
    const auto call = api::suppression_call("https://api.mailgun.net", "mg.example.com",
                                            api::SuppressionList::unsubscribes, std::nullopt);
    BOOST_TEST(call.url == "https://api.mailgun.net/v3/mg.example.com/unsubscribes?limit=1000");
    const auto bounces = api::parse_suppression_page(api::SuppressionList::bounces, R"({
        "items": [{"address": " Ann@Example.com", "code": "550", "error": "No such user",
                   "created_at": "Sun, 26 Jan 2025 07:29:04 UTC"},
                  {"address": "bob@example.com", "code": 554, "error": "",
                   "created_at": "2025-01-26T07:29:04Z"},
                  {"code": "550"}],
        "paging": {"next": "https://api.mailgun.net/v3/d/bounces?page=next&address=bob",
                   "last": "https://api.mailgun.net/v3/d/bounces?page=last"}})");
    BOOST_TEST(bounces->entries.size() == 2u);
    BOOST_TEST(bounces->skipped == 1u);
    BOOST_TEST(bounces->entries[0].address == "ann@example.com");
    BOOST_TEST(bounces->entries[0].reason == "bounced");
    BOOST_TEST(bounces->entries[0].detail == "550 No such user");
    BOOST_TEST(*bounces->entries[0].created_at == 1737876544000000);
    BOOST_TEST(bounces->entries[1].detail == "554");
    BOOST_TEST(*bounces->entries[1].created_at == 1737876544000000);
    BOOST_TEST(bounces->next.has_value());
    const auto unsubscribes = api::parse_suppression_page(api::SuppressionList::unsubscribes, R"({
        "items": [{"address": "a@x.org", "tags": ["*"], "created_at": "bad date"},
                  {"address": "b@x.org", "tags": ["news", "promo"]},
                  {"address": "c@x.org", "tag": "*"}],
        "paging": {"next": "https://h/last", "last": "https://h/last"}})");
    BOOST_TEST(unsubscribes->entries[0].detail == "");
    BOOST_TEST(!unsubscribes->entries[0].created_at);
    BOOST_TEST(unsubscribes->entries[1].detail == "tags: news,promo");
    BOOST_TEST(unsubscribes->entries[2].detail == "");
    BOOST_TEST(!unsubscribes->next); // next == last: the last page
    BOOST_TEST(!api::parse_suppression_page(api::SuppressionList::complaints,
                                            R"({"items": [{"address": "a@x.org"}],
                                                "paging": {"next": "https://h/2", "last": "https://h/9"}})",
                                            std::string("https://h/2"))
                    ->next);
    BOOST_TEST(!api::parse_suppression_page(api::SuppressionList::complaints,
                                            R"({"items": [], "paging": {"next": "https://h/2"}})")
                    ->next);
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_mailgun_api
