#pragma once
// Group commit. Request threads hand their events to writer threads, each
// with its own database connection, which take whatever is waiting (up to a
// bound), write it in one transaction and release every request with its own
// outcome. There is no fixed delay: a lone request is written at once, and
// under load the requests that arrive while one batch commits form the next,
// so one commit (one WAL flush) serves many events.
#include "storage/event_store.hpp"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace leadhook::storage {

/// Writes events in one transaction: one result per record, in order, each
/// final only after COMMIT (or an error for all that were not committed).
class BatchSink {
  public:
    virtual ~BatchSink() = default;
    virtual BatchResults record_batch(std::span<const EventRecord* const> records) = 0;
    /// Connections made again after one was lost, since the start.
    virtual std::uint64_t reconnects() const = 0;
};

/// What one batch did, for the metrics.
struct BatchReport {
    std::size_t events = 0;
    std::uint64_t reconnects = 0; ///< the sink's, since the last batch
    /// false when every event failed as "unavailable": no writable database.
    bool reached_database = true;
};

struct BatchWriterOptions {
    std::size_t max_batch = 256;                      ///< events per transaction at most
    std::function<void(const BatchReport&)> on_batch; ///< after each batch
};

class BatchWriter {
  public:
    /// Starts one writer thread per sink.
    BatchWriter(std::vector<std::unique_ptr<BatchSink>> sinks, BatchWriterOptions options);
    /// Writes what is queued, then joins the writers.
    ~BatchWriter();
    BatchWriter(const BatchWriter&) = delete;
    BatchWriter& operator=(const BatchWriter&) = delete;

    /// Queues the record and blocks until its batch is committed or failed.
    /// An exception thrown by the sink is rethrown here, in the request's
    /// own thread, to its catch boundary.
    Expected<Recorded, StoreError> record(const EventRecord& record);

    /// Requests waiting for a writer to take them.
    std::size_t queued() const;

    /// Writes what is queued and stops the writers; record() then answers
    /// "unavailable" at once. Idempotent.
    void stop();

  private:
    struct Waiter;
    void run(BatchSink& sink);
    std::vector<Waiter*> take_batch();

    std::vector<std::unique_ptr<BatchSink>> m_sinks;
    BatchWriterOptions m_options;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Waiter*> m_queue;
    bool m_stopping = false;
    std::vector<std::thread> m_threads;
};

/// One store shared by every request worker for what is not an event
/// (quarantine, readiness), one call at a time: its connection is a single
/// one however many workers there are, and a flood of refused requests
/// queues here instead of taking the database's connections.
class SharedStore {
  public:
    /// `on_reconnects`: the store's reconnects since the last call, after each.
    SharedStore(std::unique_ptr<EventStore> store,
                std::function<void(std::uint64_t)> on_reconnects = {})
        : m_store(std::move(store)), m_on_reconnects(std::move(on_reconnects)),
          m_reconnects_seen(m_store->reconnects()) {}

    Expected<Quarantined, StoreError> quarantine(const QuarantineEntry& entry,
                                                 const QuarantineCap& cap) {
        std::lock_guard lock(m_mutex);
        auto result = m_store->quarantine(entry, cap);
        report_reconnects();
        return result;
    }
    Readiness readiness() {
        std::lock_guard lock(m_mutex);
        auto result = m_store->readiness();
        report_reconnects();
        return result;
    }

  private:
    void report_reconnects() {
        const std::uint64_t now = m_store->reconnects();
        if (m_on_reconnects && now != m_reconnects_seen) {
            m_on_reconnects(now - m_reconnects_seen);
        }
        m_reconnects_seen = now;
    }

    std::mutex m_mutex;
    std::unique_ptr<EventStore> m_store;
    std::function<void(std::uint64_t)> m_on_reconnects;
    std::uint64_t m_reconnects_seen;
};

/// The EventStore each request worker sees: events go to the shared
/// group-commit writer, the rest to the shared store. Reconnects are
/// reported by the writer and the shared store themselves.
class GroupCommitStore final : public EventStore {
  public:
    GroupCommitStore(BatchWriter& writer, SharedStore& shared)
        : m_writer(writer), m_shared(shared) {}

    Expected<Recorded, StoreError> record(const EventRecord& record) override {
        return m_writer.record(record);
    }
    Expected<Quarantined, StoreError> quarantine(const QuarantineEntry& entry,
                                                 const QuarantineCap& cap) override {
        return m_shared.quarantine(entry, cap);
    }
    Readiness readiness() override { return m_shared.readiness(); }

  private:
    BatchWriter& m_writer;
    SharedStore& m_shared;
};

} // namespace leadhook::storage
