#include "app/outcome.hpp"

#include <nlohmann/json.hpp>

#include <array>

namespace leadhook::app {
namespace {

constexpr std::array<OutcomeInfo, 20> outcome_table{{
    {Outcome::stored, 200, "stored"},
    {Outcome::unmatched, 200, "unmatched"},
    {Outcome::duplicate, 200, "duplicate"},
    {Outcome::index, 200, "index"},
    {Outcome::metrics, 200, "metrics"},
    {Outcome::healthy, 200, "healthy"},
    {Outcome::ready, 200, "ready"},
    {Outcome::not_ready, 503, "not_ready"},
    // 409, not 406: Mailgun retries it for hours, so a key added late (or a
    // clock fixed) recovers the event; the quarantine keeps it meanwhile.
    {Outcome::bad_signature, 409, "bad_signature"},
    {Outcome::stale, 409, "stale"},
    {Outcome::future, 409, "future"},
    // 406: retrying a forgery can never succeed.
    {Outcome::forgery, 406, "forgery"},
    {Outcome::unprocessable, 406, "unprocessable"},
    {Outcome::too_large, 413, "too_large"},
    // 400, retried by Mailgun: a body cut off on the way may arrive whole next time.
    {Outcome::bad_request, 400, "bad_request"},
    {Outcome::method_not_allowed, 405, "method_not_allowed"},
    {Outcome::not_found, 404, "not_found"},
    {Outcome::db_unavailable, 503, "db_unavailable"},
    // A burst of large bodies: come back when they are through.
    {Outcome::busy, 503, "busy"},
    {Outcome::internal_error, 500, "internal_error"},
}};

/// Seconds Mailgun (or anyone) should wait before retrying a 503.
constexpr const char* retry_after_seconds = "60";

nlohmann::json success_body(const Reply& reply) {
    nlohmann::json body;
    body["l_id"] = reply.lead_id ? nlohmann::json(*reply.lead_id) : nlohmann::json(nullptr);
    body["email"] = reply.email;
    body["event"] = reply.event;
    body["status"] = reply.outcome == Outcome::stored      ? "success"
                     : reply.outcome == Outcome::duplicate ? "duplicate"
                                                           : "unmatched";
    return body;
}

} // namespace

const OutcomeInfo& info(Outcome outcome) {
    for (const auto& row : outcome_table) {
        if (row.outcome == outcome) {
            return row;
        }
    }
    return outcome_table.back(); // unreachable: every Outcome has a row (tested)
}

http::Response to_response(const Reply& reply) {
    http::Response response;
    response.status = info(reply.outcome).status;
    switch (reply.outcome) {
    case Outcome::stored:
    case Outcome::unmatched:
    case Outcome::duplicate:
        response.body =
            success_body(reply).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        break;
    case Outcome::index:
        response.body = reply.index_json;
        break;
    case Outcome::healthy:
        response.body = R"({"status":"ok"})";
        break;
    case Outcome::ready:
        response.body = R"({"status":"ready"})";
        break;
    case Outcome::not_ready:
        response.body = nlohmann::json{{"status", "not ready"}, {"reason", reply.reason}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
        break;
    case Outcome::metrics:
        response.content_type = "text/plain; version=0.0.4; charset=utf-8";
        response.body = reply.metrics_text;
        break;
    default:
        response.body = nlohmann::json{{"error", reply.message}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    if (reply.outcome == Outcome::method_not_allowed) {
        response.headers.emplace_back("Allow", reply.allow);
    }
    if (reply.outcome == Outcome::db_unavailable || reply.outcome == Outcome::not_ready ||
        reply.outcome == Outcome::busy) {
        response.headers.emplace_back("Retry-After", retry_after_seconds);
    }
    return response;
}

} // namespace leadhook::app
