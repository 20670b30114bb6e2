#include "storage/batch_writer.hpp"

#include "util/one_shot.hpp"

#include <algorithm>
#include <exception>
#include <optional>

namespace leadhook::storage {

/// One request waiting for its batch; lives on the request thread's stack.
struct BatchWriter::Waiter {
    const EventRecord* record;
    std::optional<Expected<Recorded, StoreError>> result;
    std::exception_ptr failure;
    OneShot done;
};

BatchWriter::BatchWriter(std::vector<std::unique_ptr<BatchSink>> sinks, BatchWriterOptions options)
    : m_sinks(std::move(sinks)), m_options(std::move(options)) {
    if (m_options.max_batch == 0) {
        m_options.max_batch = 1;
    }
    m_threads.reserve(m_sinks.size());
    for (auto& sink : m_sinks) {
        m_threads.emplace_back([this, &sink] { run(*sink); });
    }
}

BatchWriter::~BatchWriter() {
    stop();
}

void BatchWriter::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    for (auto& thread : m_threads) {
        if (thread.joinable()) {
            thread.join();
        }
    }
}

Expected<Recorded, StoreError> BatchWriter::record(const EventRecord& record) {
    Waiter waiter{&record, std::nullopt, nullptr, {}};
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping) {
            return unexpected(
                StoreError{StoreFailure::unavailable, "", "shutting down: event not written"});
        }
        m_queue.push_back(&waiter);
    }
    m_wake.notify_one();
    waiter.done.wait();
    if (waiter.failure) {
        std::rethrow_exception(waiter.failure);
    }
    return std::move(*waiter.result);
}

std::size_t BatchWriter::queued() const {
    std::lock_guard lock(m_mutex);
    return m_queue.size();
}

/// Everything waiting, up to the bound; empty once stopping with nothing left.
std::vector<BatchWriter::Waiter*> BatchWriter::take_batch() {
    std::unique_lock lock(m_mutex);
    m_wake.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
    const std::size_t n = std::min(m_queue.size(), m_options.max_batch);
    std::vector<Waiter*> batch(m_queue.begin(), m_queue.begin() + static_cast<std::ptrdiff_t>(n));
    m_queue.erase(m_queue.begin(), m_queue.begin() + static_cast<std::ptrdiff_t>(n));
    const bool more = !m_queue.empty();
    lock.unlock();
    if (more) {
        m_wake.notify_one(); // another writer can take the rest meanwhile
    }
    return batch;
}

void BatchWriter::run(BatchSink& sink) {
    std::uint64_t reconnects_seen = sink.reconnects();
    std::vector<const EventRecord*> records;
    for (;;) {
        const auto batch = take_batch();
        if (batch.empty()) {
            return; // stopping, and the queue is drained
        }
        records.clear();
        for (const Waiter* waiter : batch) {
            records.push_back(waiter->record);
        }
        bool reached = true;
        try {
            auto results = sink.record_batch(records);
            reached = std::ranges::any_of(results, [](const auto& result) {
                return result.has_value() || result.error().kind != StoreFailure::unavailable;
            });
            for (std::size_t i = 0; i < batch.size(); ++i) {
                batch[i]->result = i < results.size()
                                       ? std::move(results[i])
                                       : unexpected(StoreError{StoreFailure::internal, "",
                                                               "batch returned too few results"});
            }
        } catch (...) {
            for (Waiter* waiter : batch) {
                waiter->failure = std::current_exception();
            }
        }
        if (m_options.on_batch) {
            const std::uint64_t reconnects = sink.reconnects();
            try {
                m_options.on_batch(BatchReport{.events = batch.size(),
                                               .reconnects = reconnects - reconnects_seen,
                                               .reached_database = reached});
            } catch (...) {
                // A counter must never leave a request waiting for ever.
            }
            reconnects_seen = reconnects;
        }
        for (Waiter* waiter : batch) {
            waiter->done.set();
        }
    }
}

} // namespace leadhook::storage
