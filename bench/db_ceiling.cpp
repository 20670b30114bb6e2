// leadhook_db_ceiling: issue 6's database ceiling for scripts/bench. It runs
// leadhook's own batch write (storage::PgEventStore::record_batch: the same
// statements, transaction and commit that group commit sends) on events
// already decoded and normalised in memory: no HTTP, FastCGI, signature
// check, request threads or hand-offs. So it says how many events per second
// the database (and the writer threads' own work) can take on this machine
// when nothing else competes for it, and leadhook's rate as a share of that
// says what the rest of the request costs.
//
// Usage: leadhook_db_ceiling --database-url URL [--writers N] [--batch N]
//                            BODIES...
// BODIES: files of JSON webhook bodies, one a line (scripts/bench_support/
// bench.py gen). Every body is decoded and normalised before the clock
// starts; then each writer takes the next --batch events until none are
// left. Prints one line of key=value pairs: events, batches, seconds,
// events_per_s, stored, duplicate, failed. Exit 1 when a body cannot be
// decoded or a batch fails (the first error is printed); 2 on bad usage.
#include "mailgun/normalize.hpp"
#include "mailgun/payload.hpp"
#include "storage/pg_event_store.hpp"
#include "util/clock.hpp"
#include "util/sha256.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace leadhook;

namespace {

constexpr const char* route = "/api/v1/wh/mg/events";

/// The events of every body, and the records that point at them; both in
/// containers whose elements never move.
struct Workload {
    std::deque<mailgun::Event> events;
    std::deque<storage::EventRecord> records;
};

bool add_body(Workload& work, const std::string& body, EpochMicros now) {
    auto payload = mailgun::parse_payload("application/json", body);
    if (!payload) {
        std::fprintf(stderr, "leadhook_db_ceiling: body %zu: %s\n", work.records.size() + 1,
                     payload.error().message.c_str());
        return false;
    }
    const auto signature = mailgun::find_signature(*payload);
    auto event = mailgun::normalize(*payload, std::nullopt);
    if (!signature || !event) {
        std::fprintf(stderr, "leadhook_db_ceiling: body %zu: no signature or not an event\n",
                     work.records.size() + 1);
        return false;
    }
    const auto signed_at = parse_epoch_seconds(signature->timestamp).value_or(now);
    const mailgun::Event& stored = work.events.emplace_back(std::move(*event));
    work.records.push_back(storage::EventRecord{stored, stored.event_time.value_or(signed_at), now,
                                                signed_at, signature->token, signature->signature,
                                                "bench", sha256(body), route});
    return true;
}

struct Tally {
    std::mutex mutex;
    std::size_t batches = 0, stored = 0, duplicate = 0, failed = 0;
    std::string first_error;
};

void write_all(const std::string& url, const Workload& work, std::size_t batch_size,
               std::atomic<std::size_t>& next, Tally& tally) {
    storage::PgEventStore store(url);
    std::vector<const storage::EventRecord*> batch;
    for (;;) {
        const std::size_t first = next.fetch_add(batch_size);
        if (first >= work.records.size()) {
            return;
        }
        const std::size_t last = std::min(first + batch_size, work.records.size());
        batch.clear();
        for (std::size_t i = first; i < last; ++i) {
            batch.push_back(&work.records[i]);
        }
        const auto results = store.record_batch(batch);
        std::lock_guard lock(tally.mutex);
        ++tally.batches;
        for (const auto& result : results) {
            if (!result) {
                ++tally.failed;
                if (tally.first_error.empty()) {
                    tally.first_error = result.error().message;
                }
            } else if (result->status == storage::RecordStatus::stored) {
                ++tally.stored;
            } else {
                ++tally.duplicate;
            }
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    CLI::App cli{"leadhook_db_ceiling: leadhook's batch write alone, from memory"};
    std::string url;
    std::size_t writers = 2;
    std::size_t batch_size = 16;
    std::vector<std::string> files;
    cli.add_option("--database-url", url, "libpq connection string")->required();
    cli.add_option("--writers", writers, "connections writing at once")->check(CLI::Range(1, 64));
    cli.add_option("--batch", batch_size, "events per transaction")->check(CLI::Range(1, 4096));
    cli.add_option("bodies", files, "files of JSON bodies, one a line")
        ->required()
        ->check(CLI::ExistingFile);
    CLI11_PARSE(cli, argc, argv);

    Workload work;
    const EpochMicros now = SystemClock().now();
    for (const auto& file : files) {
        std::ifstream in(file);
        for (std::string line; std::getline(in, line);) {
            if (!line.empty() && !add_body(work, line, now)) {
                return 1;
            }
        }
    }
    if (work.records.empty()) {
        std::fprintf(stderr, "leadhook_db_ceiling: no bodies in the files given\n");
        return 1;
    }

    Tally tally;
    std::atomic<std::size_t> next{0};
    const auto started = std::chrono::steady_clock::now();
    {
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < writers; ++i) {
            threads.emplace_back([&] { write_all(url, work, batch_size, next, tally); });
        }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::size_t events = work.records.size();
    std::printf("events=%zu batches=%zu seconds=%.3f events_per_s=%.1f stored=%zu duplicate=%zu "
                "failed=%zu\n",
                events, tally.batches, seconds, static_cast<double>(events) / seconds, tally.stored,
                tally.duplicate, tally.failed);
    if (tally.failed != 0) {
        std::fprintf(stderr, "leadhook_db_ceiling: first error: %s\n", tally.first_error.c_str());
        return 1;
    }
    return 0;
}
