// Group commit without a database: batches form from whatever is waiting,
// never exceed the bound, and every request gets its own outcome.
#include "storage/batch_writer.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_batch_writer {

using namespace leadhook;
using namespace std::chrono_literals;
using storage::BatchResults;
using storage::EventRecord;

// Named, not anonymous: the suite's test cases derive from Fixture, and in the
// unity build gcc warns about a base with internal linkage (-Wsubobject-linkage).
namespace support {

/// A sink that answers each record with a lead id taken from its token, and
/// can hold its first batch until released so that others queue meanwhile.
class FakeSink final : public storage::BatchSink {
  public:
    BatchResults record_batch(std::span<const EventRecord* const> records) override {
        std::unique_lock lock(m_mutex);
        m_sizes.push_back(records.size());
        m_changed.notify_all();
        m_changed.wait(lock, [this] { return !m_hold; });
        if (m_throw) {
            throw std::runtime_error("sink failed");
        }
        BatchResults results;
        for (const EventRecord* r : records) {
            if (r->token == "down") {
                results.push_back(
                    unexpected(storage::StoreError{storage::StoreFailure::unavailable, "", "x"}));
            } else {
                results.push_back(
                    storage::Recorded{storage::RecordStatus::stored, std::stoll(r->token)});
            }
        }
        return results;
    }
    std::uint64_t reconnects() const override { return m_reconnects; }

    void hold() {
        std::lock_guard lock(m_mutex);
        m_hold = true;
    }
    void release() {
        std::lock_guard lock(m_mutex);
        m_hold = false;
        m_changed.notify_all();
    }
    void wait_for_batches(std::size_t n) {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return m_sizes.size() >= n; });
    }
    std::vector<std::size_t> sizes() {
        std::lock_guard lock(m_mutex);
        return m_sizes;
    }
    bool m_throw = false;
    std::atomic<std::uint64_t> m_reconnects{0};

  private:
    std::mutex m_mutex;
    std::condition_variable m_changed;
    bool m_hold = false;
    std::vector<std::size_t> m_sizes;
};

struct Fixture {
    mailgun::Event event;
    std::deque<EventRecord> records;

    const EventRecord& record(std::string token) {
        return records.emplace_back(
            EventRecord{event, 1, 1, 1, std::move(token), "s", "k", std::string(32, 'a'), "/r"});
    }
};

storage::BatchWriter writer_over(FakeSink*& sink, storage::BatchWriterOptions options = {}) {
    auto owned = std::make_unique<FakeSink>();
    sink = owned.get();
    std::vector<std::unique_ptr<storage::BatchSink>> sinks;
    sinks.push_back(std::move(owned));
    return storage::BatchWriter(std::move(sinks), std::move(options));
}

/// Waits until `n` requests are queued behind a held batch.
void wait_for_queued(const storage::BatchWriter& writer, std::size_t n) {
    while (writer.queued() < n) {
        std::this_thread::sleep_for(1ms);
    }
}

} // namespace support

using namespace support;

BOOST_FIXTURE_TEST_SUITE(batch_writer, Fixture)

BOOST_AUTO_TEST_CASE(a_lone_request_is_written_at_once_as_a_batch_of_one) {
    FakeSink* sink = nullptr;
    storage::BatchWriter writer = writer_over(sink);
    const auto result = writer.record(record("5"));
    BOOST_REQUIRE(result.has_value());
    BOOST_TEST(*result->lead_id == 5);
    BOOST_TEST(sink->sizes() == std::vector<std::size_t>{1});
}

BOOST_AUTO_TEST_CASE(requests_arriving_during_a_commit_form_the_next_batches_up_to_the_bound) {
    FakeSink* sink = nullptr;
    storage::BatchWriter writer = writer_over(sink, {.max_batch = 4, .on_batch = {}});
    sink->hold();
    std::vector<std::thread> threads;
    std::vector<std::optional<std::int64_t>> leads(11);
    const auto post = [&](int i) {
        const auto result = writer.record(records[static_cast<std::size_t>(i)]);
        if (result) {
            leads[static_cast<std::size_t>(i)] = result->lead_id;
        }
    };
    for (int i = 0; i < 11; ++i) {
        record(std::to_string(100 + i));
    }
    threads.emplace_back(post, 0);
    sink->wait_for_batches(1); // the first is being "committed", alone
    for (int i = 1; i < 11; ++i) {
        threads.emplace_back(post, i);
    }
    wait_for_queued(writer, 10);
    sink->release();
    for (auto& t : threads) {
        t.join();
    }
    BOOST_TEST(sink->sizes() == (std::vector<std::size_t>{1, 4, 4, 2}));
    for (int i = 0; i < 11; ++i) {
        BOOST_TEST_CONTEXT("request " << i) {
            BOOST_REQUIRE(leads[static_cast<std::size_t>(i)].has_value());
            BOOST_TEST(*leads[static_cast<std::size_t>(i)] == 100 + i); // its own outcome
        }
    }
}

BOOST_AUTO_TEST_CASE(each_request_gets_its_own_failure) {
    FakeSink* sink = nullptr;
    storage::BatchWriter writer = writer_over(sink);
    const auto down = writer.record(record("down"));
    BOOST_REQUIRE(!down.has_value());
    BOOST_TEST(static_cast<int>(down.error().kind) ==
               static_cast<int>(storage::StoreFailure::unavailable));
    BOOST_TEST(writer.record(record("8")).has_value());
}

BOOST_AUTO_TEST_CASE(an_exception_in_the_writer_reaches_every_request_of_its_batch) {
    FakeSink* sink = nullptr;
    storage::BatchWriter writer = writer_over(sink);
    sink->m_throw = true;
    BOOST_CHECK_THROW(writer.record(record("1")), std::runtime_error);
    sink->m_throw = false;
    BOOST_TEST(writer.record(record("2")).has_value()); // the writer carries on
}

BOOST_AUTO_TEST_CASE(stopping_writes_what_is_queued_then_refuses) {
    FakeSink* sink = nullptr;
    storage::BatchWriter writer = writer_over(sink);
    sink->hold();
    std::optional<bool> first_ok, second_ok;
    std::thread first([&] { first_ok = writer.record(record("1")).has_value(); });
    sink->wait_for_batches(1);
    std::thread second([&] { second_ok = writer.record(record("2")).has_value(); });
    wait_for_queued(writer, 1);
    std::thread stopper([&] { writer.stop(); });
    std::this_thread::sleep_for(50ms); // let stop() begin: it must still write the queue
    sink->release();
    first.join();
    second.join();
    stopper.join();
    BOOST_TEST(first_ok.value_or(false));
    BOOST_TEST(second_ok.value_or(false)); // queued before the stop: written
    const auto late = writer.record(record("3"));
    BOOST_REQUIRE(!late.has_value());
    BOOST_TEST(static_cast<int>(late.error().kind) ==
               static_cast<int>(storage::StoreFailure::unavailable));
}

BOOST_AUTO_TEST_CASE(each_batch_reports_its_size_reconnects_and_whether_it_reached_the_database) {
    std::mutex mutex;
    std::vector<storage::BatchReport> reports;
    FakeSink* sink = nullptr;
    storage::BatchWriter writer =
        writer_over(sink, {.max_batch = 256, .on_batch = [&](const storage::BatchReport& batch) {
                               std::lock_guard lock(mutex);
                               reports.push_back(batch);
                           }});
    BOOST_TEST(writer.record(record("1")).has_value());
    sink->m_reconnects = 2;
    BOOST_TEST(writer.record(record("2")).has_value());
    BOOST_TEST(!writer.record(record("down")).has_value());
    std::lock_guard lock(mutex);
    BOOST_REQUIRE(reports.size() == 3u);
    BOOST_TEST(reports[0].events == 1u);
    BOOST_TEST(reports[0].reconnects == 0u);
    BOOST_TEST(reports[1].reconnects == 2u);
    BOOST_TEST(reports[2].reconnects == 0u);
    BOOST_TEST(reports[0].reached_database);
    BOOST_TEST(reports[1].reached_database);
    BOOST_TEST(!reports[2].reached_database); // every event "unavailable"
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_batch_writer
