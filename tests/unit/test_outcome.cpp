#include "app/outcome.hpp"
#include "storage/sqlstate.hpp"

#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_outcome {

using namespace leadhook;
using app::Outcome;
using app::Reply;
using nlohmann::json;

namespace {

struct Row {
    Outcome outcome;
    int status;
    const char* label;
};

// The documented table (outcome.hpp; README.md, "Responses").
const std::vector<Row> documented{
    {Outcome::stored, 200, "stored"},
    {Outcome::unmatched, 200, "unmatched"},
    {Outcome::duplicate, 200, "duplicate"},
    {Outcome::index, 200, "index"},
    {Outcome::metrics, 200, "metrics"},
    {Outcome::healthy, 200, "healthy"},
    {Outcome::ready, 200, "ready"},
    {Outcome::not_ready, 503, "not_ready"},
    {Outcome::bad_signature, 409, "bad_signature"},
    {Outcome::stale, 409, "stale"},
    {Outcome::future, 409, "future"},
    {Outcome::forgery, 406, "forgery"},
    {Outcome::unprocessable, 406, "unprocessable"},
    {Outcome::too_large, 413, "too_large"},
    {Outcome::bad_request, 400, "bad_request"},
    {Outcome::method_not_allowed, 405, "method_not_allowed"},
    {Outcome::not_found, 404, "not_found"},
    {Outcome::db_unavailable, 503, "db_unavailable"},
    {Outcome::busy, 503, "busy"},
    {Outcome::internal_error, 500, "internal_error"},
};

const std::string* header(const http::Response& response, std::string_view name) {
    for (const auto& [key, value] : response.headers) {
        if (key == name) {
            return &value;
        }
    }
    return nullptr;
}

json body_of(const http::Response& response) {
    return json::parse(response.body);
}

} // namespace

BOOST_AUTO_TEST_SUITE(outcome)

BOOST_AUTO_TEST_CASE(every_outcome_has_its_documented_status) {
    BOOST_TEST(documented.size() == static_cast<std::size_t>(Outcome::internal_error) + 1);
    std::set<std::string> labels;
    for (const auto& row : documented) {
        BOOST_TEST_CONTEXT(row.label) {
            const auto& info = app::info(row.outcome);
            BOOST_TEST((info.outcome == row.outcome));
            BOOST_TEST(info.status == row.status);
            BOOST_TEST(info.label == row.label);
            BOOST_TEST(std::string(http::reason_phrase(info.status)) != "Unknown");
            labels.insert(std::string(info.label));
            Reply reply{.outcome = row.outcome, .message = "m"};
            BOOST_TEST(app::to_response(reply).status == row.status);
        }
    }
    BOOST_TEST(labels.size() == documented.size());
}

BOOST_AUTO_TEST_CASE(reason_phrases) {
    BOOST_TEST(std::string(http::reason_phrase(406)) == "Not Acceptable");
    BOOST_TEST(std::string(http::reason_phrase(409)) == "Conflict");
    BOOST_TEST(std::string(http::reason_phrase(503)) == "Service Unavailable");
    BOOST_TEST(std::string(http::reason_phrase(418)) == "Unknown");
}

BOOST_AUTO_TEST_CASE(stored_answers_success_with_the_lead) {
    const Reply reply{.outcome = Outcome::stored,
                      .lead_id = 1234,
                      .email = "lead@example.com",
                      .event = "delivered"};
    const auto response = app::to_response(reply);
    BOOST_TEST(response.status == 200);
    BOOST_TEST(response.headers.empty());
    BOOST_TEST(body_of(response) == json({{"l_id", 1234},
                                          {"email", "lead@example.com"},
                                          {"event", "delivered"},
                                          {"status", "success"}}));
}

BOOST_AUTO_TEST_CASE(duplicate_answers_200_with_status_duplicate) {
    const Reply reply{.outcome = Outcome::duplicate,
                      .lead_id = 7,
                      .email = "lead@example.com",
                      .event = "opened"};
    const auto response = app::to_response(reply);
    BOOST_TEST(response.status == 200);
    BOOST_TEST(body_of(response) == json({{"l_id", 7},
                                          {"email", "lead@example.com"},
                                          {"event", "opened"},
                                          {"status", "duplicate"}}));
}

BOOST_AUTO_TEST_CASE(forgery_is_406_with_an_error) {
    const Reply reply{.outcome = Outcome::forgery, .message = "token already used"};
    const auto response = app::to_response(reply);
    BOOST_TEST(response.status == 406);
    BOOST_TEST(body_of(response) == json({{"error", "token already used"}}));
}

BOOST_AUTO_TEST_CASE(health_and_readiness_answers) {
    BOOST_TEST(body_of(app::to_response(Reply{.outcome = Outcome::healthy})) ==
               json({{"status", "ok"}}));
    BOOST_TEST(body_of(app::to_response(Reply{.outcome = Outcome::ready})) ==
               json({{"status", "ready"}}));
    const auto not_ready =
        app::to_response(Reply{.outcome = Outcome::not_ready, .reason = "database unreachable"});
    BOOST_TEST(not_ready.status == 503);
    BOOST_TEST(body_of(not_ready) ==
               json({{"status", "not ready"}, {"reason", "database unreachable"}}));
    BOOST_TEST_REQUIRE(header(not_ready, "Retry-After") != nullptr);
}

BOOST_AUTO_TEST_CASE(metrics_are_plain_text) {
    const Reply reply{.outcome = Outcome::metrics, .metrics_text = "leadhook_x 1\n"};
    const auto response = app::to_response(reply);
    BOOST_TEST(response.status == 200);
    BOOST_TEST(response.content_type.starts_with("text/plain; version=0.0.4"));
    BOOST_TEST(response.body == "leadhook_x 1\n");
}

BOOST_AUTO_TEST_CASE(unmatched_answers_a_null_lead) {
    const Reply reply{.outcome = Outcome::unmatched, .email = "who@example.com", .event = "opened"};
    const auto response = app::to_response(reply);
    BOOST_TEST(response.status == 200);
    const json body = body_of(response);
    BOOST_TEST(body.at("l_id").is_null());
    BOOST_TEST(body.at("status") == "unmatched");
    BOOST_TEST(body.at("email") == "who@example.com");
    BOOST_TEST(body.at("event") == "opened");
    BOOST_TEST(body.size() == 4u);
}

BOOST_AUTO_TEST_CASE(index_answers_the_route_map_verbatim) {
    const Reply reply{.outcome = Outcome::index, .index_json = R"({"routes":{}})"};
    BOOST_TEST(app::to_response(reply).body == R"({"routes":{}})");
}

BOOST_AUTO_TEST_CASE(errors_answer_only_the_message) {
    for (const auto& row : documented) {
        if (row.status == 200 || row.outcome == Outcome::not_ready) {
            continue; // not_ready has its own body (health_and_readiness_answers)
        }
        BOOST_TEST_CONTEXT(row.label) {
            const Reply reply{.outcome = row.outcome,
                              .message = "what went wrong",
                              .lead_id = 7,
                              .email = "secret@example.com",
                              .detail = "SQLSTATE 42P01 internal detail"};
            const auto response = app::to_response(reply);
            BOOST_TEST(body_of(response) == json({{"error", "what went wrong"}}));
            BOOST_TEST(response.body.find("42P01") == std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(method_not_allowed_has_an_allow_header) {
    const auto response = app::to_response(
        Reply{.outcome = Outcome::method_not_allowed, .message = "no", .allow = "GET, HEAD"});
    BOOST_TEST(response.status == 405);
    BOOST_TEST_REQUIRE(header(response, "Allow") != nullptr);
    BOOST_TEST(*header(response, "Allow") == "GET, HEAD");
    BOOST_TEST(header(response, "Retry-After") == nullptr);
}

BOOST_AUTO_TEST_CASE(db_unavailable_has_retry_after) {
    const auto response =
        app::to_response(Reply{.outcome = Outcome::db_unavailable, .message = "x"});
    BOOST_TEST(response.status == 503);
    BOOST_TEST_REQUIRE(header(response, "Retry-After") != nullptr);
    const std::string& seconds = *header(response, "Retry-After");
    BOOST_TEST(!seconds.empty());
    BOOST_TEST(seconds.find_first_not_of("0123456789") == std::string::npos);
    BOOST_TEST(std::stoi(seconds) > 0);
    BOOST_TEST(header(response, "Allow") == nullptr);
}

BOOST_AUTO_TEST_CASE(other_outcomes_have_no_extra_headers) {
    for (const auto& row : documented) {
        if (row.outcome == Outcome::method_not_allowed || row.outcome == Outcome::db_unavailable ||
            row.outcome == Outcome::not_ready || row.outcome == Outcome::busy) {
            continue;
        }
        BOOST_TEST_CONTEXT(row.label) {
            BOOST_TEST(app::to_response(Reply{.outcome = row.outcome}).headers.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(invalid_utf8_still_gives_valid_json) {
    const auto stored = app::to_response(
        Reply{.outcome = Outcome::stored, .lead_id = 1, .email = "bad\xff@x", .event = "opened"});
    BOOST_TEST(body_of(stored).at("email") == "bad\xEF\xBF\xBD@x");
    const auto error =
        app::to_response(Reply{.outcome = Outcome::unprocessable, .message = "\xc3"});
    BOOST_TEST(body_of(error).at("error") == "\xEF\xBF\xBD");
}

BOOST_AUTO_TEST_CASE(transient_sqlstates_are_unavailable) {
    for (std::string_view state :
         {"", "08006", "08001", "08003", "57P01", "57P02", "57P03", "53300", "53100", "53200",
          "40001", "40P01", "25006", "57014", "55P03"}) {
        BOOST_TEST_CONTEXT("'" << state << "'") {
            BOOST_TEST((storage::classify_sqlstate(state) == storage::StoreFailure::unavailable));
        }
    }
}

BOOST_AUTO_TEST_CASE(other_sqlstates_are_internal) {
    for (std::string_view state : {"23505", "23502", "42P01", "42703", "42601", "22P02", "22021",
                                   "XX000", "57000", "40000", "25001", "P0001"}) {
        BOOST_TEST_CONTEXT("'" << state << "'") {
            BOOST_TEST((storage::classify_sqlstate(state) == storage::StoreFailure::internal));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_outcome
