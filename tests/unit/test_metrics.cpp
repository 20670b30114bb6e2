// The Prometheus exposition: names, labels, histogram buckets, and that the
// request path feeds it (health, readiness and metrics routes included).
#include "app/app.hpp"
#include "obs/metrics.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <sstream>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_metrics {

using namespace leadhook;

namespace {

/// "name{labels}" -> value, for every sample line of the exposition.
std::map<std::string, double> samples(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const auto space = line.rfind(' ');
        BOOST_TEST_REQUIRE(space != std::string::npos, line);
        out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

struct Harness {
    app::SettingsHolder settings{app::Settings{}};
    test::FakeStore store;
    FixedClock clock{1'764'000'000'000'000};
    test::CapturedOutput log_out;
    obs::Logger logger{log_out.file(), clock};
    obs::Metrics metrics;
    app::App app{settings, store, logger, metrics};

    http::Response get(std::string path) {
        return app.handle(http::Request{.method = "GET", .path = std::move(path)});
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(every_family_is_exposed_with_help_and_type) {
    obs::Metrics m;
    const std::string text = m.render();
    for (const char* family :
         {"leadhook_duplicates_total counter", "leadhook_forgeries_total counter",
          "leadhook_signature_failures_total counter", "leadhook_database_reconnects_total counter",
          "leadhook_database_duration_seconds histogram",
          "leadhook_webhook_timestamp_age_seconds histogram", "leadhook_requests_in_flight gauge",
          "leadhook_quarantine_total counter", "leadhook_config_reloads_total counter",
          "leadhook_purged_rows_total counter", "leadhook_dropped_partitions_total counter",
          "leadhook_fastcgi_connections_accepted_total counter",
          "leadhook_fastcgi_connections_idle gauge", "leadhook_database_available gauge",
          "leadhook_database_unavailable_seconds_total counter"}) {
        BOOST_TEST(test::contains(text, std::string("# TYPE ") + family), family);
    }
    const auto s = samples(text);
    BOOST_TEST(s.at("leadhook_signature_failures_total{reason=\"stale\"}") == 0);
    BOOST_TEST(s.at("leadhook_requests_in_flight") == 0);
    BOOST_TEST(s.at("leadhook_fastcgi_connections_accepted_total") == 0);
    BOOST_TEST(s.at("leadhook_fastcgi_connections_idle") == 0);
}

BOOST_AUTO_TEST_CASE(fastcgi_connections_accepted_and_idle) {
    obs::Metrics m;
    m.count_connection_accepted();
    m.count_connection_accepted();
    m.set_idle_connections(5);
    m.set_idle_connections(3);
    const auto s = samples(m.render());
    BOOST_TEST(s.at("leadhook_fastcgi_connections_accepted_total") == 2);
    BOOST_TEST(s.at("leadhook_fastcgi_connections_idle") == 3);
}

BOOST_AUTO_TEST_CASE(requests_counted_by_route_status_and_outcome_with_latency) {
    obs::Metrics m;
    m.request_started();
    BOOST_TEST(samples(m.render()).at("leadhook_requests_in_flight") == 1);
    m.request_finished("events", 200, "stored", 0.003);
    m.request_started();
    m.request_finished("events", 409, "bad_signature", 0.2);
    const auto s = samples(m.render());
    BOOST_TEST(s.at("leadhook_requests_in_flight") == 0);
    BOOST_TEST(
        s.at("leadhook_requests_total{outcome=\"stored\",route=\"events\",status=\"200\"}") == 1);
    BOOST_TEST(s.at("leadhook_request_duration_seconds_count{route=\"events\"}") == 2);
    BOOST_TEST(s.at("leadhook_request_duration_seconds_bucket{route=\"events\",le=\"0.005\"}") ==
               1);
    BOOST_TEST(s.at("leadhook_request_duration_seconds_bucket{route=\"events\",le=\"+Inf\"}") == 2);
    BOOST_TEST(s.at("leadhook_request_duration_seconds_sum{route=\"events\"}") == 0.203,
               boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(time_without_a_writable_primary_from_batch_to_batch) {
    obs::Metrics m;
    BOOST_TEST(samples(m.render()).at("leadhook_database_available") == 1);
    m.note_database_reached(true, 1'000'000);
    m.note_database_reached(false, 5'000'000); // the outage starts here
    m.note_database_reached(false, 9'000'000);
    auto s = samples(m.render());
    BOOST_TEST(s.at("leadhook_database_available") == 0);
    BOOST_TEST(s.at("leadhook_database_unavailable_seconds_total") == 0); // added when it ends
    m.note_database_reached(true, 19'500'000);
    m.note_database_reached(true, 20'000'000);
    m.note_database_reached(false, 30'000'000);
    m.note_database_reached(true, 31'000'000);
    s = samples(m.render());
    BOOST_TEST(s.at("leadhook_database_available") == 1);
    BOOST_TEST(s.at("leadhook_database_unavailable_seconds_total") == 15.5);
}

BOOST_AUTO_TEST_CASE(events_failures_ages_and_reconnects) {
    obs::Metrics m;
    m.count_event("opened");
    m.count_event("opened");
    m.count_signature_failure("mismatch");
    m.observe_timestamp_age(-3); // a clock a little ahead counts as 0
    m.observe_timestamp_age(7200);
    m.count_db_reconnects(0);
    m.count_db_reconnects(2);
    m.count_purged("webhook_tokens", 5);
    m.count_purged("lead_email_event_payloads", 7);
    m.count_dropped_partitions("lead_email_events", 2);
    const auto s = samples(m.render());
    BOOST_TEST(s.at("leadhook_events_total{type=\"opened\"}") == 2);
    BOOST_TEST(s.at("leadhook_signature_failures_total{reason=\"mismatch\"}") == 1);
    BOOST_TEST(s.at("leadhook_webhook_timestamp_age_seconds_bucket{le=\"1\"}") == 1);
    BOOST_TEST(s.at("leadhook_webhook_timestamp_age_seconds_bucket{le=\"3600\"}") == 1);
    BOOST_TEST(s.at("leadhook_webhook_timestamp_age_seconds_bucket{le=\"14400\"}") == 2);
    BOOST_TEST(s.at("leadhook_database_reconnects_total") == 2);
    BOOST_TEST(s.at("leadhook_purged_rows_total{table=\"webhook_tokens\"}") == 5);
    BOOST_TEST(s.at("leadhook_purged_rows_total{table=\"webhook_quarantine\"}") == 0);
    BOOST_TEST(s.at("leadhook_purged_rows_total{table=\"lead_email_event_payloads\"}") == 7);
    BOOST_TEST(s.at("leadhook_dropped_partitions_total{table=\"lead_email_events\"}") == 2);
}

BOOST_AUTO_TEST_CASE(operations_routes_through_the_app) {
    Harness h;
    const auto health = h.get("/api/v1/health");
    BOOST_TEST(health.status == 200);
    BOOST_TEST(health.body == R"({"status":"ok"})");
    BOOST_TEST(h.get("/api/v1/ready").status == 200);
    h.store.ready = {false, "schema behind: at version 3, this build needs 4"};
    const auto not_ready = h.get("/api/v1/ready");
    BOOST_TEST(not_ready.status == 503);
    BOOST_TEST(test::contains(not_ready.body, "schema behind"));
    BOOST_TEST(test::contains(h.log_out.text(), "schema behind"));
    const auto metrics = h.get("/api/v1/metrics");
    BOOST_TEST(metrics.status == 200);
    BOOST_TEST(metrics.content_type.starts_with("text/plain"));
    const auto s = samples(metrics.body);
    BOOST_TEST(
        s.at("leadhook_requests_total{outcome=\"not_ready\",route=\"ready\",status=\"503\"}") == 1);
    BOOST_TEST(s.at("leadhook_requests_in_flight") == 1); // this very request
    h.get("/nowhere");
    BOOST_TEST(samples(h.metrics.render())
                   .at("leadhook_requests_total{outcome=\"not_found\",route=\"unknown\",status="
                       "\"404\"}") == 1);
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_metrics
