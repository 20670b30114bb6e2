#include "app/router.hpp"

#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_router {

using namespace leadhook;
using app::find_route;
using app::Route;
using app::RouteKind;
using mailgun::EventType;

namespace {

struct Webhook {
    std::string path;
    std::optional<EventType> implied;
};

// The original app's routes and the one a current Mailgun account uses.
const std::vector<Webhook> webhooks{
    {"/api/v1/wh/mg/events", std::nullopt},
    {"/api/v1/wh/mg/lead/email/delivered", EventType::delivered},
    {"/api/v1/wh/mg/lead/email/open", EventType::opened},
    {"/api/v1/wh/mg/lead/email/click", EventType::clicked},
    {"/api/v1/wh/mg/lead/email/bounced", EventType::bounced},
    {"/api/v1/wh/mg/lead/email/dropped", EventType::dropped},
    {"/api/v1/wh/mg/lead/email/spam/complaint", EventType::complained},
    {"/api/v1/wh/mg/lead/email/unsubscribe", EventType::unsubscribed},
};

const std::vector<std::string> index_paths{"/api", "/api/v1", "/api/v1/index"};

std::string implied_name(const std::optional<EventType>& type) {
    return type ? std::string(mailgun::to_string(*type)) : "<none>";
}

const Route& route_for(std::string_view path) {
    const Route* route = find_route(path);
    BOOST_TEST_REQUIRE(route != nullptr, "no route for " << path);
    return *route;
}

} // namespace

BOOST_AUTO_TEST_SUITE(router)

BOOST_AUTO_TEST_CASE(webhook_routes_imply_their_event) {
    for (const auto& hook : webhooks) {
        BOOST_TEST_CONTEXT(hook.path) {
            const Route& route = route_for(hook.path);
            BOOST_TEST((route.kind == RouteKind::webhook));
            BOOST_TEST(route.path == hook.path);
            BOOST_TEST(implied_name(route.implied) == implied_name(hook.implied));
        }
    }
}

BOOST_AUTO_TEST_CASE(the_events_route_implies_nothing) {
    BOOST_TEST(!route_for("/api/v1/wh/mg/events").implied.has_value());
}

BOOST_AUTO_TEST_CASE(index_routes) {
    for (const auto& path : index_paths) {
        BOOST_TEST_CONTEXT(path) {
            const Route& route = route_for(path);
            BOOST_TEST((route.kind == RouteKind::index));
            BOOST_TEST(!route.implied.has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(one_trailing_slash_is_tolerated) {
    for (const auto& hook : webhooks) {
        BOOST_TEST(route_for(hook.path + "/").path == hook.path);
    }
    for (const auto& path : index_paths) {
        BOOST_TEST(route_for(path + "/").path == path);
    }
}

BOOST_AUTO_TEST_CASE(unknown_paths_have_no_route) {
    for (std::string_view path :
         {"", "/", "//", "/api//", "/api/v1/wh/mg/events//", "/api/v2", "/API/v1", "/api/v1/wh",
          "/api/v1/wh/mg/events/extra", "/api/v1/wh/mg/lead/email/opened",
          "/api/v1/wh/mg/lead/email/spam", "/api/v1/wh/mg/lead/email/complaint",
          "api/v1/wh/mg/events", " /api", "/api/v1/wh/mg/events?x=1", "/api/v1/index.html"}) {
        BOOST_TEST_CONTEXT("'" << path << "'") {
            BOOST_TEST(find_route(path) == nullptr);
        }
    }
}

BOOST_AUTO_TEST_CASE(webhooks_take_post_only) {
    for (const auto& hook : webhooks) {
        BOOST_TEST_CONTEXT(hook.path) {
            const Route& route = route_for(hook.path);
            BOOST_TEST(app::method_allowed(route, "POST"));
            for (std::string_view method :
                 {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "post", ""}) {
                BOOST_TEST(!app::method_allowed(route, method), method);
            }
            BOOST_TEST(app::allowed_methods(route) == "POST");
        }
    }
}

BOOST_AUTO_TEST_CASE(the_index_takes_get_and_head) {
    for (const auto& path : index_paths) {
        BOOST_TEST_CONTEXT(path) {
            const Route& route = route_for(path);
            BOOST_TEST(app::method_allowed(route, "GET"));
            BOOST_TEST(app::method_allowed(route, "HEAD"));
            for (std::string_view method : {"POST", "PUT", "DELETE", "get", ""}) {
                BOOST_TEST(!app::method_allowed(route, method), method);
            }
            BOOST_TEST(app::allowed_methods(route) == "GET, HEAD");
        }
    }
}

struct Operation {
    std::string path;
    app::RouteKind kind;
    std::string name;
};
const std::vector<Operation> operations{
    {"/api/v1/health", app::RouteKind::health, "health"},
    {"/api/v1/ready", app::RouteKind::ready, "ready"},
    {"/api/v1/metrics", app::RouteKind::metrics, "metrics"},
};

BOOST_AUTO_TEST_CASE(the_table_holds_exactly_these_routes) {
    std::set<std::string> paths;
    for (const auto& route : app::routes()) {
        paths.insert(std::string(route.path));
        BOOST_TEST(find_route(route.path) == &route);
    }
    BOOST_TEST(paths.size() == app::routes().size()); // no duplicates
    BOOST_TEST(paths.size() == webhooks.size() + index_paths.size() + operations.size());
}

BOOST_AUTO_TEST_CASE(operations_routes_take_get_and_head_and_are_not_indexed) {
    const auto map = nlohmann::json::parse(app::index_json()).at("routes");
    for (const auto& [path, kind, name] : operations) {
        BOOST_TEST_CONTEXT(path) {
            const Route& route = route_for(path);
            BOOST_TEST((route.kind == kind));
            BOOST_TEST(app::method_allowed(route, "GET"));
            BOOST_TEST(app::method_allowed(route, "HEAD"));
            BOOST_TEST(!app::method_allowed(route, "POST"));
            BOOST_TEST(!map.contains(name)); // the public server answers 404 for them
        }
    }
    BOOST_TEST(find_route("/metrics") == nullptr);
}

BOOST_AUTO_TEST_CASE(index_json_lists_every_webhook_route) {
    const auto doc = nlohmann::json::parse(app::index_json());
    BOOST_TEST_REQUIRE(doc.contains("routes"));
    const auto& map = doc.at("routes");
    BOOST_TEST_REQUIRE(map.is_object());
    std::set<std::string> listed;
    for (const auto& [name, path] : map.items()) {
        BOOST_TEST_CONTEXT(name) {
            BOOST_TEST_REQUIRE(path.is_string());
            const Route& route = route_for(path.get<std::string>());
            BOOST_TEST(route.name == name);
            listed.insert(path.get<std::string>());
        }
    }
    for (const auto& hook : webhooks) {
        BOOST_TEST(listed.count(hook.path) == 1u, hook.path << " missing from the index");
    }
    BOOST_TEST(map.at("events") == "/api/v1/wh/mg/events");
    BOOST_TEST(map.at("spam_complaint") == "/api/v1/wh/mg/lead/email/spam/complaint");
    BOOST_TEST(listed.count("/api/v1/index") == 1u);
    BOOST_TEST(listed.size() == webhooks.size() + 1); // and nothing else
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_router
