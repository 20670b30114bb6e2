// The replay defence as the request path sees it: freshness, what the store
// says about tokens, what is quarantined, and reverify. Storage itself is
// PostgreSQL's job and is tested end to end in tests/integration.
#include "app/app.hpp"
#include "app/reverify.hpp"
#include "domain/freshness.hpp"
#include "mailgun/signature.hpp"
#include "support.hpp"
#include "util/sha256.hpp"

#include <boost/test/unit_test.hpp>

#include <map>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_replay {

using namespace leadhook;
using test::FakeStore;

namespace {

constexpr EpochMicros second = 1'000'000;
constexpr EpochMicros arrival = 1'764'000'000 * second;
const std::string events_route = "/api/v1/wh/mg/events";

app::Settings replay_settings() {
    app::Settings settings;
    settings.keys = {{"current-key", "current", std::nullopt},
                     {"old-key", "old", arrival - 10 * second}};
    settings.quarantine_cap = {.max_requests = 5, .max_bytes = 100000, .max_body_bytes = 4000};
    return settings;
}

/// A JSON webhook signed now-ish with `key`.
std::string signed_json(const std::string& key, EpochMicros signed_at,
                        const std::string& token = "tok-0123456789",
                        const std::string& event = "opened") {
    const std::string timestamp = std::to_string(signed_at / second);
    nlohmann::json body{{"signature",
                         {{"timestamp", timestamp},
                          {"token", token},
                          {"signature", mailgun::sign(key, timestamp, token)}}},
                        {"event-data",
                         {{"event", event},
                          {"id", "ev-1"},
                          {"timestamp", static_cast<double>(signed_at / second)},
                          {"recipient", "lead@example.com"}}}};
    return body.dump();
}

struct Harness {
    app::SettingsHolder settings{replay_settings()};
    FakeStore store;
    FixedClock clock{arrival};
    test::CapturedOutput log_out;
    obs::Logger logger{log_out.file(), clock};
    obs::Metrics metrics;
    app::App app{settings, store, logger, metrics};

    http::Response post(std::string body, EpochMicros at = arrival) {
        http::Request request{.method = "POST",
                              .path = events_route,
                              .content_type = "application/json",
                              .body = std::move(body),
                              .remote_addr = "203.0.113.9",
                              .request_id = "req-1",
                              .received_at = at};
        return app.handle(request);
    }
    std::string log() { return log_out.text(); }
};

std::string status_of(const http::Response& response) {
    return nlohmann::json::parse(response.body).value("status", "");
}

/// A QuarantineLog over a vector, as reverify pages through it.
class FakeQuarantine final : public storage::QuarantineLog {
  public:
    std::map<std::int64_t, storage::QuarantinedRequest> rows;
    bool fail = false;

    Expected<std::vector<storage::QuarantinedRequest>, storage::StoreError>
    list(std::int64_t after_id, int limit) override {
        if (fail) {
            return unexpected(storage::StoreError{storage::StoreFailure::unavailable, "", "down"});
        }
        std::vector<storage::QuarantinedRequest> page;
        for (auto it = rows.upper_bound(after_id);
             it != rows.end() && static_cast<int>(page.size()) < limit; ++it) {
            page.push_back(it->second);
        }
        return page;
    }
    Expected<bool, storage::StoreError> remove(std::int64_t id) override {
        return rows.erase(id) > 0;
    }
    void add(std::int64_t id, std::string body, EpochMicros received_at,
             std::string path = events_route) {
        rows[id] = storage::QuarantinedRequest{id,
                                               received_at,
                                               1,
                                               "bad_signature",
                                               std::move(path),
                                               "application/json",
                                               "203.0.113.9",
                                               "req-q",
                                               std::move(body)};
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(replay)

BOOST_AUTO_TEST_CASE(freshness_window_edges) {
    const domain::FreshnessPolicy policy{.max_age_seconds = 100, .max_future_skew_seconds = 10};
    using domain::Freshness;
    BOOST_TEST((domain::judge_freshness(arrival, arrival, policy) == Freshness::fresh));
    BOOST_TEST(
        (domain::judge_freshness(arrival - 100 * second, arrival, policy) == Freshness::fresh));
    BOOST_TEST(
        (domain::judge_freshness(arrival - 100 * second - 1, arrival, policy) == Freshness::stale));
    BOOST_TEST(
        (domain::judge_freshness(arrival + 10 * second, arrival, policy) == Freshness::fresh));
    BOOST_TEST(
        (domain::judge_freshness(arrival + 10 * second + 1, arrival, policy) == Freshness::future));
    BOOST_TEST((domain::judge_freshness(std::nullopt, arrival, policy) == Freshness::stale));
    const domain::FreshnessPolicy off{.max_age_seconds = 0, .max_future_skew_seconds = 0};
    BOOST_TEST((domain::judge_freshness(std::nullopt, arrival, off) == Freshness::stale));
    BOOST_TEST((domain::judge_freshness(0, arrival, off) == Freshness::fresh));
}

BOOST_AUTO_TEST_CASE(the_ledger_outlives_the_window) {
    const domain::FreshnessPolicy policy{.max_age_seconds = 86400, .max_future_skew_seconds = 300};
    const auto horizon = domain::ledger_horizon(arrival, policy);
    BOOST_TEST_REQUIRE(horizon.has_value());
    // Anything purged is refused as stale before the ledger is consulted.
    BOOST_TEST((domain::judge_freshness(*horizon, arrival, policy) == domain::Freshness::stale));
    BOOST_TEST(*horizon <= arrival - 86400 * second);
    BOOST_TEST(!domain::ledger_horizon(arrival, {.max_age_seconds = 0}).has_value());
}

BOOST_AUTO_TEST_CASE(fresh_event_reaches_the_store_bound_to_its_body) {
    Harness h;
    const std::string body = signed_json("current-key", arrival - 60 * second);
    BOOST_TEST(h.post(body).status == 200);
    BOOST_TEST_REQUIRE(h.store.calls.size() == 1u);
    const auto& call = h.store.calls[0];
    BOOST_TEST(call.key_label == "current");
    BOOST_TEST(call.body_sha256 == sha256(body));
    BOOST_TEST(call.signed_at == arrival - 60 * second);
    BOOST_TEST(h.store.kept.empty());
    BOOST_TEST(test::contains(h.log(), "key=current"));
}

BOOST_AUTO_TEST_CASE(stale_and_future_are_409_and_quarantined) {
    Harness h;
    const auto stale = h.post(signed_json("current-key", arrival - 86401 * second));
    BOOST_TEST(stale.status == 409);
    const auto future = h.post(signed_json("current-key", arrival + 301 * second));
    BOOST_TEST(future.status == 409);
    BOOST_TEST(h.store.calls.empty());
    BOOST_TEST_REQUIRE(h.store.kept.size() == 2u);
    BOOST_TEST(h.store.kept[0].reason == "stale");
    BOOST_TEST(h.store.kept[1].reason == "future");
    BOOST_TEST(h.store.kept[0].path == events_route);
    BOOST_TEST(h.store.kept[0].remote_addr == "203.0.113.9");
    BOOST_TEST(h.store.kept[0].received_at == arrival);
    BOOST_TEST(h.store.kept[0].cap.max_requests == 5);
    BOOST_TEST(test::contains(h.log(), "outcome=stale quarantine=stored"));
}

BOOST_AUTO_TEST_CASE(an_unreadable_timestamp_cannot_be_judged_fresh) {
    Harness h;
    auto no_window = replay_settings();
    no_window.freshness.max_age_seconds = 0;
    for (const std::string timestamp : {"soon", "7a", "-1", ""}) {
        for (bool window : {true, false}) {
            h.settings.set(window ? replay_settings() : no_window);
            const std::string token = "tok-" + timestamp + (window ? "-w" : "-off");
            const nlohmann::json body{
                {"signature",
                 {{"timestamp", timestamp},
                  {"token", token},
                  {"signature", mailgun::sign("current-key", timestamp, token)}}},
                {"event-data", {{"event", "opened"}, {"recipient", "lead@example.com"}}}};
            const auto response = h.post(body.dump());
            BOOST_TEST(response.status == 409, timestamp << (window ? "" : " (no window)"));
        }
    }
    BOOST_TEST(h.store.calls.empty());
}

BOOST_AUTO_TEST_CASE(a_signed_token_longer_than_mailguns_is_406_and_quarantined) {
    Harness h;
    const auto response = h.post(signed_json("current-key", arrival, std::string(3000, 'k')));
    BOOST_TEST(response.status == 406);
    BOOST_TEST(test::contains(response.body, "token is 3000 bytes, longer than Mailgun sends"));
    BOOST_TEST(h.store.calls.empty());
    BOOST_TEST_REQUIRE(h.store.kept.size() == 1u);
    BOOST_TEST(h.store.kept[0].reason == "unprocessable");
}

BOOST_AUTO_TEST_CASE(a_refused_body_over_the_quarantine_body_bound_is_not_kept) {
    Harness h;
    nlohmann::json body = nlohmann::json::parse(signed_json("unknown-key", arrival));
    body["event-data"]["pad"] = std::string(5000, 'p');
    const auto response = h.post(body.dump());
    BOOST_TEST(response.status == 409);
    BOOST_TEST(h.store.kept.empty());
    BOOST_TEST(test::contains(h.log(), "outcome=bad_signature quarantine=dropped"));
}

BOOST_AUTO_TEST_CASE(an_expired_key_is_refused_and_named_in_the_log_only) {
    Harness h;
    const auto response = h.post(signed_json("old-key", arrival));
    BOOST_TEST(response.status == 409);
    BOOST_TEST(!test::contains(response.body, "old"));
    BOOST_TEST(test::contains(h.log(), "verifies only with key old"));
    BOOST_TEST_REQUIRE(h.store.kept.size() == 1u);
    BOOST_TEST(h.store.kept[0].reason == "bad_signature");
    // Before its end date the same key was fine.
    BOOST_TEST(
        h.post(signed_json("old-key", arrival - 20 * second), arrival - 20 * second).status == 200);
}

BOOST_AUTO_TEST_CASE(duplicate_and_forgery_come_from_the_ledger) {
    Harness h;
    h.store.status = storage::RecordStatus::duplicate;
    const auto duplicate = h.post(signed_json("current-key", arrival));
    BOOST_TEST(duplicate.status == 200);
    BOOST_TEST(status_of(duplicate) == "duplicate");
    BOOST_TEST(h.store.kept.empty());
    h.store.status = storage::RecordStatus::forgery;
    const auto forgery = h.post(signed_json("current-key", arrival, "tok-0123456789", "clicked"));
    BOOST_TEST(forgery.status == 406);
    BOOST_TEST_REQUIRE(h.store.kept.size() == 1u);
    BOOST_TEST(h.store.kept[0].reason == "forgery");
    BOOST_TEST(test::contains(h.log(), "level=warn"));
    BOOST_TEST(test::contains(h.log(), "outcome=forgery"));
    BOOST_TEST(!test::contains(h.log(), "tok-0123456789"));
    BOOST_TEST(test::contains(h.metrics.render(), "leadhook_forgeries_total 1"));
    const std::string metrics = h.metrics.render();
    BOOST_TEST(test::contains(metrics, "leadhook_duplicates_total 1"));
    BOOST_TEST(test::contains(metrics, "leadhook_requests_total{outcome=\"duplicate\","
                                       "route=\"events\",status=\"200\"} 1"));
}

BOOST_AUTO_TEST_CASE(unsigned_and_unprocessable_are_quarantined) {
    Harness h;
    BOOST_TEST(h.post("{\"event-data\":{}}").status == 409);
    BOOST_TEST(h.post("not json").status == 406);
    BOOST_TEST_REQUIRE(h.store.kept.size() == 2u);
    BOOST_TEST(h.store.kept[0].reason == "bad_signature");
    BOOST_TEST(h.store.kept[1].reason == "unprocessable");
    BOOST_TEST(h.store.kept[1].body == "not json");
    BOOST_TEST(h.store.kept[1].body_sha256 == sha256("not json"));
}

BOOST_AUTO_TEST_CASE(a_failed_quarantine_keeps_the_answer_and_says_so) {
    Harness h;
    h.store.quarantine_fails = true;
    BOOST_TEST(h.post("{}").status == 409);
    BOOST_TEST(test::contains(h.log(), "quarantine=failed"));
    BOOST_TEST(test::contains(h.log(), "quarantine down"));
    h.store.quarantine_fails = false;
    h.store.quarantine_result = storage::Quarantined::dropped;
    BOOST_TEST(h.post("{}").status == 409);
    BOOST_TEST(
        test::contains(h.metrics.render(), "leadhook_quarantine_total{result=\"dropped\"} 1"));
    BOOST_TEST(
        test::contains(h.metrics.render(), "leadhook_quarantine_total{result=\"failed\"} 1"));
}

BOOST_AUTO_TEST_CASE(a_reload_applies_to_the_next_request) {
    Harness h;
    const std::string body = signed_json("new-key", arrival);
    BOOST_TEST(h.post(body).status == 409);
    auto next = replay_settings();
    next.keys.push_back({"new-key", "new", std::nullopt});
    h.settings.set(next);
    BOOST_TEST(h.post(body).status == 200);
    BOOST_TEST(h.store.calls.back().key_label == "new");
}

BOOST_AUTO_TEST_CASE(reverify_imports_what_now_verifies_as_of_arrival) {
    FakeStore store;
    obs::Metrics metrics;
    auto settings = replay_settings();
    settings.keys.push_back({"late-key", "late", std::nullopt});
    const app::SettingsHolder holder(settings);
    const app::WebhookHandler handler(holder, store, metrics, /*quarantine=*/false);
    FakeQuarantine quarantine;
    const EpochMicros then = arrival - 3600 * second; // long past the window now
    quarantine.add(1, signed_json("late-key", then), then);
    quarantine.add(2, signed_json("unknown-key", then), then);
    quarantine.add(3, signed_json("late-key", then - 90000 * second), then); // stale on arrival
    quarantine.add(4, signed_json("late-key", then), then, "/nowhere");
    quarantine.add(5, signed_json("late-key", then, "tok-dup"), then);
    test::CapturedOutput out;
    auto counts = app::reverify(quarantine, handler, out.file());
    BOOST_TEST_REQUIRE(counts.has_value());
    BOOST_TEST(counts->imported == 2); // 1 and 5
    BOOST_TEST(counts->skipped == 3);
    BOOST_TEST(store.kept.empty()); // reverify never re-quarantines
    BOOST_TEST(quarantine.rows.count(1) == 0u);
    BOOST_TEST(quarantine.rows.count(2) == 1u);
    BOOST_TEST(quarantine.rows.count(3) == 1u);
    BOOST_TEST(quarantine.rows.count(4) == 1u);
    const std::string text = out.text();
    BOOST_TEST(test::contains(text, "imported  #1"));
    BOOST_TEST(test::contains(text, "(key late)"));
    BOOST_TEST(test::contains(text, "skipped   #2"));
    BOOST_TEST(test::contains(text, "bad_signature"));
    BOOST_TEST(test::contains(text, "stale"));
    BOOST_TEST(test::contains(text, "not_found"));
    BOOST_TEST(!test::contains(text, "late-key"));
}

BOOST_AUTO_TEST_CASE(reverify_reports_duplicates_and_stops_on_database_failure) {
    FakeStore store;
    obs::Metrics metrics;
    const app::SettingsHolder holder(replay_settings());
    const app::WebhookHandler handler(holder, store, metrics, false);
    FakeQuarantine quarantine;
    quarantine.add(7, signed_json("current-key", arrival), arrival);
    store.status = storage::RecordStatus::duplicate;
    test::CapturedOutput out;
    auto counts = app::reverify(quarantine, handler, out.file());
    BOOST_TEST_REQUIRE(counts.has_value());
    BOOST_TEST(counts->duplicate == 1);
    BOOST_TEST(quarantine.rows.empty());
    quarantine.add(8, signed_json("current-key", arrival), arrival);
    store.mode = FakeStore::Mode::unavailable;
    BOOST_TEST(!app::reverify(quarantine, handler, out.file()).has_value());
    BOOST_TEST(quarantine.rows.count(8) == 1u); // left for the next run
    quarantine.fail = true;
    BOOST_TEST(!app::reverify(quarantine, handler, out.file()).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_replay
