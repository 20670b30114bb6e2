#include "app/router.hpp"

#include <nlohmann/json.hpp>

#include <array>

namespace leadhook::app {
namespace {

using mailgun::EventType;

constexpr std::array<Route, 14> route_table{{
    // For operators and load balancers; nginx lets only localhost reach them.
    {"/api/v1/health", RouteKind::health, "health", std::nullopt},
    {"/api/v1/ready", RouteKind::ready, "ready", std::nullopt},
    {"/api/v1/metrics", RouteKind::metrics, "metrics", std::nullopt},
    {"/api", RouteKind::index, "", std::nullopt},
    {"/api/v1", RouteKind::index, "", std::nullopt},
    {"/api/v1/index", RouteKind::index, "index", std::nullopt},
    {"/api/v1/wh/mg/events", RouteKind::webhook, "events", std::nullopt},
    {"/api/v1/wh/mg/lead/email/delivered", RouteKind::webhook, "delivered", EventType::delivered},
    {"/api/v1/wh/mg/lead/email/open", RouteKind::webhook, "open", EventType::opened},
    {"/api/v1/wh/mg/lead/email/click", RouteKind::webhook, "click", EventType::clicked},
    {"/api/v1/wh/mg/lead/email/bounced", RouteKind::webhook, "bounced", EventType::bounced},
    {"/api/v1/wh/mg/lead/email/dropped", RouteKind::webhook, "dropped", EventType::dropped},
    {"/api/v1/wh/mg/lead/email/spam/complaint", RouteKind::webhook, "spam_complaint",
     EventType::complained},
    {"/api/v1/wh/mg/lead/email/unsubscribe", RouteKind::webhook, "unsubscribe",
     EventType::unsubscribed},
}};

} // namespace

std::span<const Route> routes() {
    return route_table;
}

const Route* find_route(std::string_view path) {
    if (path.size() > 1 && path.back() == '/') {
        path.remove_suffix(1);
    }
    for (const auto& route : route_table) {
        if (route.path == path) {
            return &route;
        }
    }
    return nullptr;
}

std::string_view allowed_methods(const Route& route) {
    return route.kind == RouteKind::webhook ? "POST" : "GET, HEAD";
}

bool method_allowed(const Route& route, std::string_view method) {
    if (route.kind == RouteKind::webhook) {
        return method == "POST";
    }
    return method == "GET" || method == "HEAD";
}

bool worth_capturing(std::string_view path) {
    const Route* route = find_route(path);
    return route == nullptr || route->kind == RouteKind::webhook;
}

std::string index_json() {
    nlohmann::json map = nlohmann::json::object();
    for (const auto& route : route_table) {
        // The operations routes are not listed: the public server, which
        // serves the index, answers 404 for them.
        const bool public_route =
            route.kind == RouteKind::webhook || route.kind == RouteKind::index;
        if (public_route && !route.name.empty()) {
            map[std::string(route.name)] = route.path;
        }
    }
    return nlohmann::json{{"routes", map}}.dump();
}

} // namespace leadhook::app
