#pragma once
// The route table: the original app's per-event routes, the one route a
// modern Mailgun account is configured with, and the index. A table, not a
// chain of ifs, so the index page and the router can never disagree.
#include "mailgun/event.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace leadhook::app {

enum class RouteKind { index, health, ready, metrics, webhook };

struct Route {
    std::string_view path;
    RouteKind kind;
    std::string_view name;                     ///< key in the index map
    std::optional<mailgun::EventType> implied; ///< for legacy posts without `event`
};

std::span<const Route> routes();

/// The route for `path` (one trailing slash tolerated), or nullptr.
const Route* find_route(std::string_view path);

/// "POST" for webhooks, "GET, HEAD" for the index and metrics: the Allow header.
std::string_view allowed_methods(const Route& route);
bool method_allowed(const Route& route, std::string_view method);

/// Whether capture mode keeps a request to `path`: webhook routes and
/// unknown paths (a webhook pointed at a wrong URL is what a capture is
/// for), not the health, readiness, metrics and index routes monitoring polls.
bool worth_capturing(std::string_view path);

/// {"routes": {"delivered": "/api/v1/wh/mg/lead/email/delivered", ...}}: the
/// webhook routes and the index, what the public server serves; not the
/// operations routes (health, ready, metrics), served on loopback only.
std::string index_json();

} // namespace leadhook::app
