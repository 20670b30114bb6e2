// The whole request path, App::handle (route, sha256 of the body, judge,
// store, metrics, one log line), over a store that keeps nothing and a log
// written to /dev/null: what a worker spends besides FastCGI and PostgreSQL.
#include "app/app.hpp"
#include "micro_support.hpp"
#include "obs/log.hpp"
#include "obs/metrics.hpp"
#include "storage/event_store.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>

using namespace leadhook;
using bench::Kind;

namespace {

/// Accepts every event as stored for a known lead; nothing is kept.
class NullStore final : public storage::EventStore {
  public:
    Expected<storage::Recorded, storage::StoreError>
    record(const storage::EventRecord& record) override {
        benchmark::DoNotOptimize(&record);
        return storage::Recorded{storage::RecordStatus::stored, 42};
    }
    Expected<storage::Quarantined, storage::StoreError>
    quarantine(const storage::QuarantineEntry&, const storage::QuarantineCap&) override {
        return storage::Quarantined::stored;
    }
    storage::Readiness readiness() override { return {true, "ok"}; }
};

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

void BM_AppHandle(benchmark::State& state, Kind kind) {
    const auto& sample = bench::sample(kind);
    std::unique_ptr<std::FILE, FileCloser> devnull(std::fopen("/dev/null", "w"));
    if (!devnull) {
        state.SkipWithError("cannot open /dev/null");
        return;
    }
    app::SettingsHolder settings{bench::corpus_settings()};
    NullStore store;
    FixedClock clock{bench::arrival};
    obs::Logger logger{devnull.get(), clock};
    obs::Metrics metrics;
    app::App app{settings, store, logger, metrics};

    http::Request request;
    request.method = "POST";
    request.path = bench::events_path;
    request.content_type = sample.content_type;
    request.body = sample.body;
    request.remote_addr = "203.0.113.7";
    request.request_id = "bench";
    request.received_at = bench::arrival;
    if (app.handle(request).status != 200) {
        state.SkipWithError("App::handle does not answer 200");
        return;
    }
    for (auto _ : state) {
        auto response = app.handle(request);
        benchmark::DoNotOptimize(response);
    }
    bench::count(state, sample);
}

} // namespace

BENCHMARK_CAPTURE(BM_AppHandle, json, Kind::json);
BENCHMARK_CAPTURE(BM_AppHandle, form, Kind::form);
BENCHMARK_CAPTURE(BM_AppHandle, multipart, Kind::multipart);
