#include "app/app.hpp"

#include <chrono>
#include <exception>
#include <optional>

namespace leadhook::app {
namespace {

/// What went wrong, for the log: the client's message plus the internal cause.
std::string error_text(const Reply& reply) {
    if (reply.detail.empty()) {
        const std::string& text = reply.message.empty() ? reply.reason : reply.message;
        return info(reply.outcome).status >= 300 ? text : std::string{};
    }
    return reply.message + ": " + reply.detail;
}

/// What the edge refused to read, whatever the route: a request without
/// its parameters (over their bounds) has no path to route by.
std::optional<Reply> edge_refusal(const http::Request& request) {
    if (request.body_too_large) {
        return Reply{.outcome = Outcome::too_large, .message = "request body too large"};
    }
    if (request.over_budget) {
        return Reply{.outcome = Outcome::busy,
                     .message = "too many request bytes in flight, retry later"};
    }
    if (!request.body_error.empty()) {
        return Reply{.outcome = Outcome::bad_request, .message = request.body_error};
    }
    return std::nullopt;
}

} // namespace

Reply App::dispatch(const http::Request& request) const {
    const Route* route = find_route(request.path);
    std::optional<Reply> reply = edge_refusal(request);
    if (!reply && !route) {
        return Reply{.outcome = Outcome::not_found, .message = "no such route"};
    }
    if (!reply) {
        reply = answer(request, *route);
    }
    if (route) {
        reply->route = route->name.empty() ? std::string_view("index") : route->name;
    }
    return *reply;
}

Reply App::answer(const http::Request& request, const Route& route) const {
    if (!method_allowed(route, request.method)) {
        return Reply{.outcome = Outcome::method_not_allowed,
                     .message = "method not allowed",
                     .allow = std::string(allowed_methods(route))};
    }
    switch (route.kind) {
    case RouteKind::index:
        return Reply{.outcome = Outcome::index, .index_json = index_json()};
    case RouteKind::health:
        return Reply{.outcome = Outcome::healthy};
    case RouteKind::ready: {
        const auto readiness = m_store.readiness();
        return Reply{.outcome = readiness.ready ? Outcome::ready : Outcome::not_ready,
                     .reason = readiness.reason};
    }
    case RouteKind::metrics:
        return Reply{.outcome = Outcome::metrics, .metrics_text = m_metrics.render()};
    case RouteKind::webhook:
        break;
    }
    return m_webhooks.handle(request, route);
}

http::Response App::handle(const http::Request& request) noexcept {
    const auto started = std::chrono::steady_clock::now();
    m_metrics.request_started();
    Reply reply{.outcome = Outcome::internal_error, .message = "internal error"};
    try {
        reply = dispatch(request);
    } catch (const std::exception& e) {
        reply = Reply{
            .outcome = Outcome::internal_error, .message = "internal error", .detail = e.what()};
    } catch (...) {
        reply = Reply{.outcome = Outcome::internal_error,
                      .message = "internal error",
                      .detail = "unknown exception"};
    }
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
    log_request(request, reply, micros);
    try {
        const auto& row = info(reply.outcome);
        m_metrics.request_finished(reply.route.empty() ? "unknown" : reply.route, row.status,
                                   row.label, static_cast<double>(micros) / 1e6);
        const std::uint64_t reconnects = m_store.reconnects();
        m_metrics.count_db_reconnects(reconnects - m_reconnects_seen);
        m_reconnects_seen = reconnects;
    } catch (...) {
        // A counter must never turn an answered request into a crash.
    }
    try {
        http::Response response = to_response(reply);
        if (request.method == "HEAD") {
            response.body.clear();
        }
        return response;
    } catch (...) {
        return http::Response{.status = 500, .body = R"({"error":"internal error"})"};
    }
}

void App::log_request(const http::Request& request, const Reply& reply, long long micros) noexcept {
    try {
        const auto& row = info(reply.outcome);
        // A forgery is an attack or a badly broken sender: someone should look.
        const char* level = row.status >= 500                   ? "error"
                            : reply.outcome == Outcome::forgery ? "warn"
                                                                : "info";
        m_log.write(level, {{"req", request.request_id},
                            {"method", request.method},
                            {"path", request.path},
                            {"status", std::to_string(row.status)},
                            {"outcome", std::string(row.label)},
                            {"event", reply.event},
                            {"lead", reply.lead_id ? std::to_string(*reply.lead_id) : ""},
                            {"key", reply.key_label},
                            {"quarantine", reply.quarantine},
                            {"remote", request.remote_addr},
                            {"dur_us", std::to_string(micros)},
                            {"error", error_text(reply)}});
    } catch (...) {
        // Logging must never turn an answered request into a crash.
    }
}

} // namespace leadhook::app
