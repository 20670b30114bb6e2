// The pure steps WebhookHandler::judge (src/app/webhook_handler.cpp) runs
// before storage, per payload type: body parse, signature verify,
// normalisation, and the whole chain parse + find signature + verify +
// freshness + normalise.
#include "app/router.hpp"
#include "domain/freshness.hpp"
#include "mailgun/key_ring.hpp"
#include "mailgun/normalize.hpp"
#include "mailgun/payload.hpp"
#include "micro_support.hpp"
#include "util/clock.hpp"

#include <benchmark/benchmark.h>

#include <optional>
#include <string>

using namespace leadhook;
using bench::Kind;

namespace {

/// What the pipeline hands to the store, or why it stopped.
struct Judged {
    std::optional<mailgun::Event> event;
    std::size_t key_index = 0;
    std::string failure;
};

/// The calls of WebhookHandler::judge up to `m_store.record`, in its order.
Judged judge(const bench::Sample& sample, const app::Settings& settings, const app::Route& route) {
    auto payload = mailgun::parse_payload(sample.content_type, sample.body, settings.limits);
    if (!payload) {
        return {std::nullopt, 0, "unprocessable: " + payload.error().message};
    }
    const auto signature = mailgun::find_signature(*payload);
    if (!signature) {
        return {std::nullopt, 0, "missing signature"};
    }
    const auto verified = mailgun::verify(*signature, settings.keys, bench::arrival);
    if (!verified) {
        return {std::nullopt, 0, "bad signature"};
    }
    const auto signed_at = parse_epoch_seconds(signature->timestamp);
    if (domain::judge_freshness(signed_at, bench::arrival, settings.freshness) !=
        domain::Freshness::fresh) {
        return {std::nullopt, 0, "not fresh"};
    }
    auto event = mailgun::normalize(*payload, route.implied);
    if (!event) {
        return {std::nullopt, 0, "unprocessable: " + event.error().message};
    }
    return {std::move(event).value(), verified->index, {}};
}

void BM_Parse(benchmark::State& state, Kind kind) {
    const auto& sample = bench::sample(kind);
    const app::Settings settings = bench::corpus_settings();
    if (!mailgun::parse_payload(sample.content_type, sample.body, settings.limits)) {
        state.SkipWithError("sample does not parse");
        return;
    }
    for (auto _ : state) {
        auto payload = mailgun::parse_payload(sample.content_type, sample.body, settings.limits);
        benchmark::DoNotOptimize(payload);
    }
    bench::count(state, sample);
}

void BM_Verify(benchmark::State& state, Kind kind) {
    const auto& sample = bench::sample(kind);
    const app::Settings settings = bench::corpus_settings();
    const auto payload = mailgun::parse_payload(sample.content_type, sample.body, settings.limits);
    const auto signature = payload ? mailgun::find_signature(*payload) : std::nullopt;
    if (!signature || !mailgun::verify(*signature, settings.keys, bench::arrival)) {
        state.SkipWithError("sample has no signature that verifies");
        return;
    }
    for (auto _ : state) {
        auto verified = mailgun::verify(*signature, settings.keys, bench::arrival);
        benchmark::DoNotOptimize(verified);
    }
    bench::count(state, sample);
}

/// Normalisation alone, of a payload parsed once: the step after verify.
void BM_Normalize(benchmark::State& state, Kind kind) {
    const auto& sample = bench::sample(kind);
    const app::Settings settings = bench::corpus_settings();
    const app::Route* route = app::find_route(bench::events_path);
    const auto payload = mailgun::parse_payload(sample.content_type, sample.body, settings.limits);
    if (route == nullptr || !payload || !mailgun::normalize(*payload, route->implied)) {
        state.SkipWithError("sample does not normalise");
        return;
    }
    for (auto _ : state) {
        auto event = mailgun::normalize(*payload, route->implied);
        benchmark::DoNotOptimize(event);
    }
    bench::count(state, sample);
}

void BM_Pipeline(benchmark::State& state, Kind kind) {
    const auto& sample = bench::sample(kind);
    const app::Settings settings = bench::corpus_settings();
    const app::Route* route = app::find_route(bench::events_path);
    if (route == nullptr) {
        state.SkipWithError("no events route");
        return;
    }
    if (const auto once = judge(sample, settings, *route); !once.event) {
        state.SkipWithError(once.failure.c_str());
        return;
    }
    for (auto _ : state) {
        auto judged = judge(sample, settings, *route);
        benchmark::DoNotOptimize(judged);
    }
    bench::count(state, sample);
}

} // namespace

BENCHMARK_CAPTURE(BM_Parse, json, Kind::json);
BENCHMARK_CAPTURE(BM_Parse, form, Kind::form);
BENCHMARK_CAPTURE(BM_Parse, multipart, Kind::multipart);
BENCHMARK_CAPTURE(BM_Verify, json, Kind::json);
BENCHMARK_CAPTURE(BM_Verify, form, Kind::form);
BENCHMARK_CAPTURE(BM_Verify, multipart, Kind::multipart);
BENCHMARK_CAPTURE(BM_Normalize, json, Kind::json);
BENCHMARK_CAPTURE(BM_Normalize, form, Kind::form);
BENCHMARK_CAPTURE(BM_Normalize, multipart, Kind::multipart);
BENCHMARK_CAPTURE(BM_Pipeline, json, Kind::json);
BENCHMARK_CAPTURE(BM_Pipeline, form, Kind::form);
BENCHMARK_CAPTURE(BM_Pipeline, multipart, Kind::multipart);
