#pragma once
// What `leadhook backfill` needs from storage, beside writing events the
// way webhooks are written: its checkpoints, what leadhook already holds
// (for the reconciliation report), and Mailgun's suppression lists. The
// PostgreSQL implementation is storage/pg_backfill.
#include "storage/event_store.hpp"

#include <span>
#include <string>
#include <vector>

namespace leadhook::storage {

/// A backfill's range: one domain, one API, [begin, end).
struct BackfillKey {
    std::string domain;
    std::string api; ///< logs or events
    EpochMicros begin = 0;
    EpochMicros end = 0;
};

struct BackfillCounts {
    long long pages = 0;
    long long fetched = 0;   ///< items Mailgun sent
    long long stored = 0;    ///< new events written
    long long duplicate = 0; ///< already held (a webhook, or an earlier backfill)
    long long skipped = 0;   ///< not webhook events, or not usable (no time, no event)
};

struct Checkpoint {
    BackfillKey key;
    std::optional<std::string> cursor; ///< the next page; nullopt: the first
    BackfillCounts counts;
    bool finished = false;
};

/// Events leadhook holds for a day (UTC, YYYY-MM-DD) and event type.
struct HeldCount {
    std::string day;
    std::string event_type;
    long long count = 0;
};

/// An entry of one of Mailgun's suppression lists, as suppressions holds it.
struct ListedSuppression {
    std::string address; ///< lower-cased
    std::string reason;  ///< bounced, complained, unsubscribed
    std::string detail;
    EpochMicros since = 0;
};

struct SuppressionsImported {
    long long added = 0;     ///< addresses and reasons new to the list
    long long unchanged = 0; ///< already there (only their times may widen)
};

class BackfillStore {
  public:
    virtual ~BackfillStore() = default;

    /// Writes a page's events in one transaction, exactly as a batch of
    /// webhooks is written (same ledger, same duplicate rules, same lead
    /// state rules); one result per record, in order.
    virtual BatchResults record_page(std::span<const EventRecord* const> records) = 0;

    /// The checkpoint of this domain, API and begin: with `key.end`, that
    /// exact range; with end 0, the newest unfinished one. nullopt: none.
    virtual Expected<std::optional<Checkpoint>, StoreError>
    find_checkpoint(const BackfillKey& key) = 0;
    /// Creates or replaces the checkpoint of `checkpoint.key`.
    virtual std::optional<StoreError> save_checkpoint(const Checkpoint& checkpoint,
                                                      EpochMicros now) = 0;

    /// For each event (read from Mailgun's API), whether leadhook holds it:
    /// the same event by the write's duplicate rules, webhook or API.
    virtual Expected<std::vector<bool>, StoreError>
    held_events(std::span<const mailgun::Event> events) = 0;

    /// Events held for `domain` (the sending domain each event names) in
    /// [begin, end), per day and type.
    virtual Expected<std::vector<HeldCount>, StoreError> held_counts(const BackfillKey& key) = 0;

    /// Adds list entries to suppressions in one transaction.
    virtual Expected<SuppressionsImported, StoreError>
    import_suppressions(std::span<const ListedSuppression> entries) = 0;
};

} // namespace leadhook::storage
