#pragma once
// The bookkeeping of one batch's transaction, without SQL: which item owns
// each token, what the statements found out, and from that each request's
// outcome. A token can only be claimed by the first item that carries it;
// the others are judged against whoever owns it (this batch or the ledger).
#include "storage/event_store.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace leadhook::storage {

/// One event of the batch, and what the transaction found out about it.
struct BatchItem {
    const EventRecord* record;
    std::string token;    ///< as stored: valid UTF-8 without NUL
    std::size_t owner;    ///< the first item of the batch with this token
    bool claimed = false; ///< this transaction put the token in the ledger
    bool written = false; ///< its event row was appended (not a repeat)
    /// The matched lead; for a repeated Mailgun event, the original's.
    std::optional<std::int64_t> lead_id;
    /// The id its event row gets, drawn when the token was claimed.
    std::optional<std::int64_t> event_id;
};

/// A token some earlier transaction claimed.
struct LedgerEntry {
    std::string sha256_hex; ///< of the body it was claimed with
    std::optional<std::int64_t> lead_id;
};

class BatchPlan {
  public:
    explicit BatchPlan(std::span<const EventRecord* const> records);

    std::vector<BatchItem>& items() { return m_items; }
    /// Some event was read from Mailgun's API (backfill), not posted.
    bool has_api_events() const {
        return std::any_of(m_items.begin(), m_items.end(), [](const BatchItem& item) {
            return item.record->source == EventSource::api;
        });
    }
    bool is_owner(std::size_t i) const { return m_items[i].owner == i; }
    /// The item that owns `token` (as stored), or nullptr.
    BatchItem* owner_of(std::string_view token);
    /// The ledger rows read for tokens this transaction could not claim.
    void add_ledger_entry(std::string token, LedgerEntry entry);

    /// Calls f(index, item) for the first item of each token: those the
    /// transaction tries to claim.
    template <typename F> void for_each_owner(F&& f) {
        for (std::size_t i = 0; i < m_items.size(); ++i) {
            if (is_owner(i)) {
                f(i, m_items[i]);
            }
        }
    }

    /// Calls f(index, item) for each item whose token this transaction
    /// claimed: the new events.
    template <typename F> void for_each_new(F&& f) {
        for_each_owner([&f](std::size_t i, BatchItem& item) {
            if (item.claimed) {
                f(i, item);
            }
        });
    }

    /// Each item's outcome, in order, once the transaction has committed.
    BatchResults outcomes() const;

  private:
    Expected<Recorded, StoreError> judged_by_ledger(const BatchItem& item) const;

    std::vector<BatchItem> m_items;
    std::unordered_map<std::string, std::size_t> m_owner_of;
    std::map<std::string, LedgerEntry, std::less<>> m_ledger;
};

} // namespace leadhook::storage
