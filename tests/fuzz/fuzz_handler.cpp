// libFuzzer target for the whole request path, app::App::handle: route,
// decode by Content-Type, verify, freshness, normalise, record, quarantine,
// metrics, log, answer. The input is
//
//   [PATH ]CONTENT-TYPE '\n' BODY
//
// PATH (when the first line starts with '/') is up to the first space, else
// /api/v1/wh/mg/events; the rest of the first line is the Content-Type header
// verbatim (empty: absent); everything after the first '\n' is the body. The
// corpus samples, prefixed with their Content-Type line, are the seeds: they
// are signed with the keys below, so mutations that keep the signature reach
// normalisation and the store.
//
// Checked: never a 500 or 503 (the store never fails), a JSON answer, one
// record() for every 200 and one quarantine() for every 406/409, and the same
// request sent again answers the same way (a stored event as a duplicate).
#include "app/app.hpp"
#include "memory_store.hpp"
#include "obs/log.hpp"
#include "obs/metrics.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace leadhook;

namespace {

void require(bool holds) {
    if (!holds) {
        std::abort();
    }
}

constexpr EpochMicros arrival = 1'764'000'000'123'456; // 2025-11-24

app::Settings fuzz_settings() {
    app::Settings settings;
    // The keys the corpus is signed with (tests/data/mailgun/INDEX.md); the
    // second one ends before the arrival time, so expiry is reachable.
    settings.keys = {{"TEST_WEBHOOK_SIGNING_KEY", "anymail", std::nullopt},
                     {"key-0p6mqbf74lb20gzq9f4dhpn9rg3zyk26", "symfony", std::nullopt},
                     {"TEST_API_KEY", "expired", arrival - 1}};
    // The corpus was signed 2009..2018: twenty years accepts it, older is stale.
    settings.freshness.max_age_seconds = 20LL * 365 * 24 * 3600;
    settings.limits = body::Limits{
        .max_fields = 200, .max_name_bytes = 128, .max_parts = 50, .max_json_depth = 32};
    return settings;
}

struct World {
    std::FILE* devnull = std::fopen("/dev/null", "w");
    FixedClock clock{arrival};
    obs::Logger logger{devnull, clock};
    obs::Metrics metrics;
    app::SettingsHolder settings{fuzz_settings()};
    fuzz::MemoryStore store;
    app::App app{settings, store, logger, metrics};
};

World& world() {
    static World* w = new World; // never destroyed: libFuzzer may exit at any point
    require(w->devnull != nullptr);
    return *w;
}

http::Request request_from(std::string_view input) {
    http::Request request;
    request.method = "POST";
    request.path = "/api/v1/wh/mg/events";
    const std::size_t newline = input.find('\n');
    std::string_view head = input.substr(0, newline);
    request.body = newline == std::string_view::npos ? "" : input.substr(newline + 1);
    if (head.starts_with('/')) {
        const std::size_t space = head.find(' ');
        request.path = head.substr(0, space);
        head = space == std::string_view::npos ? "" : head.substr(space + 1);
    }
    request.content_type = head;
    request.remote_addr = "203.0.113.7";
    request.request_id = "fuzz";
    request.received_at = arrival;
    return request;
}

nlohmann::json answer_json(const http::Response& response) {
    require(response.content_type == "application/json");
    auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    require(body.is_object());
    return body;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    World& w = world();
    w.store.reset();
    const http::Request request = request_from({reinterpret_cast<const char*>(data), size});

    const http::Response first = w.app.handle(request);
    require(first.status != 500 && first.status != 503);
    const auto first_body = answer_json(first);
    const int recorded = w.store.recorded;
    const int quarantined = w.store.quarantined;
    switch (first.status) {
    case 200:
        require(recorded == 1 && quarantined == 0);
        require(first_body.at("status") == "success" || first_body.at("status") == "unmatched");
        break;
    case 406:
    case 409:
        require(quarantined == 1 && recorded <= 1);
        require(first_body.at("error").is_string());
        break;
    case 404:
    case 405:
        require(recorded == 0 && quarantined == 0);
        return 0;
    default:
        require(false);
    }

    // The same request again, as a Mailgun retry: it must meet the ledger.
    const http::Response again = w.app.handle(request);
    require(again.status == first.status);
    const auto again_body = answer_json(again);
    if (first.status == 200) {
        require(again_body.at("status") == "duplicate");
        require(again_body.at("l_id") == first_body.at("l_id"));
        require(again_body.at("email") == first_body.at("email"));
        require(w.store.recorded == 2);
    } else {
        require(again_body == first_body && w.store.quarantined == 2);
    }
    return 0;
}
