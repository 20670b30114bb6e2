#include "storage/batch_plan.hpp"

#include "util/hex.hpp"
#include "util/utf8.hpp"

namespace leadhook::storage {

BatchPlan::BatchPlan(std::span<const EventRecord* const> records) {
    m_items.reserve(records.size());
    for (const EventRecord* record : records) {
        std::string token = to_storable_utf8(record->token);
        const auto [it, first] = m_owner_of.try_emplace(token, m_items.size());
        BatchItem item{.record = record,
                       .token = std::move(token),
                       .owner = it->second,
                       .claimed = false,
                       .written = false,
                       .lead_id = std::nullopt,
                       .event_id = std::nullopt};
        m_items.push_back(std::move(item));
    }
}

BatchItem* BatchPlan::owner_of(std::string_view token) {
    const auto it = m_owner_of.find(std::string(token));
    return it == m_owner_of.end() ? nullptr : &m_items[it->second];
}

void BatchPlan::add_ledger_entry(std::string token, LedgerEntry entry) {
    m_ledger.insert_or_assign(std::move(token), std::move(entry));
}

/// The token is in the ledger already: the same body is a duplicate,
/// another body a forgery. Either way nothing was written.
Expected<Recorded, StoreError> BatchPlan::judged_by_ledger(const BatchItem& item) const {
    const auto entry = m_ledger.find(item.token);
    if (entry == m_ledger.end()) {
        // Purged between our claim and the read: only possible for a token
        // older than the freshness window, which the handler refuses first.
        return unexpected(StoreError{StoreFailure::internal, "", "ledger row vanished"});
    }
    const bool same_body = entry->second.sha256_hex == to_hex(item.record->body_sha256);
    return Recorded{same_body ? RecordStatus::duplicate : RecordStatus::forgery,
                    same_body ? entry->second.lead_id : std::nullopt};
}

BatchResults BatchPlan::outcomes() const {
    BatchResults results;
    results.reserve(m_items.size());
    for (std::size_t i = 0; i < m_items.size(); ++i) {
        const BatchItem& item = m_items[i];
        const BatchItem& owner = m_items[item.owner];
        if (!owner.claimed) {
            results.push_back(judged_by_ledger(item));
        } else if (is_owner(i)) {
            results.push_back(Recorded{
                item.written ? RecordStatus::stored : RecordStatus::duplicate, item.lead_id});
        } else if (item.record->body_sha256 == owner.record->body_sha256) {
            // The same request twice in one batch (a retry racing the first).
            results.push_back(Recorded{RecordStatus::duplicate, owner.lead_id});
        } else {
            results.push_back(Recorded{RecordStatus::forgery, std::nullopt});
        }
    }
    return results;
}

} // namespace leadhook::storage
