#pragma once
// An EventStore in memory for fuzz_handler: nothing reaches a disk or a
// database, but the ledger rules of the PostgreSQL store are kept (same token
// and body: duplicate; same token, other body: forgery; same Mailgun event id,
// time and type under a new token: duplicate), so a replayed request can be
// checked. Events are written as jsonb text the way the real store sends
// them, and the text is checked.
#include "storage/event_store.hpp"
#include "storage/jsonb_text.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>

namespace leadhook::fuzz {

class MemoryStore final : public storage::EventStore {
  public:
    struct Ledger {
        std::string body_sha256;
        std::optional<std::int64_t> lead_id;
    };

    /// Forgets everything: each fuzz input starts from an empty database.
    void reset() {
        m_tokens.clear();
        m_events.clear();
        recorded = 0;
        quarantined = 0;
    }

    Expected<storage::Recorded, storage::StoreError>
    record(const storage::EventRecord& record) override {
        ++recorded;
        if (auto it = m_tokens.find(record.token); it != m_tokens.end()) {
            if (it->second.body_sha256 != record.body_sha256) {
                return storage::Recorded{storage::RecordStatus::forgery, std::nullopt};
            }
            return storage::Recorded{storage::RecordStatus::duplicate, it->second.lead_id};
        }
        // Leads are matched by address; an address with an '@' is "known".
        const std::optional<std::int64_t> lead =
            record.event.recipient.find('@') != std::string::npos ? std::optional<std::int64_t>(42)
                                                                  : std::nullopt;
        if (!record.event.mailgun_event_id.empty() &&
            !m_events
                 .emplace(record.event.mailgun_event_id, record.event_time,
                          std::string(mailgun::to_string(record.event.type)))
                 .second) {
            m_tokens.emplace(record.token, Ledger{record.body_sha256, lead});
            return storage::Recorded{storage::RecordStatus::duplicate, lead};
        }
        serialise(record);
        m_tokens.emplace(record.token, Ledger{record.body_sha256, lead});
        return storage::Recorded{storage::RecordStatus::stored, lead};
    }

    Expected<storage::Quarantined, storage::StoreError>
    quarantine(const storage::QuarantineEntry& entry, const storage::QuarantineCap&) override {
        ++quarantined;
        return entry.body.empty() ? storage::Quarantined::repeated : storage::Quarantined::stored;
    }

    storage::Readiness readiness() override { return {true, "ok"}; }

    int recorded = 0;    ///< record() calls since reset()
    int quarantined = 0; ///< quarantine() calls since reset()

  private:
    static bool has_nul(const nlohmann::json& value) {
        if (value.is_string()) {
            return value.get_ref<const std::string&>().find('\0') != std::string::npos;
        }
        if (!value.is_structured()) {
            return false; // items() of a number would be the number itself
        }
        for (const auto& [key, item] : value.items()) {
            if ((value.is_object() && key.find('\0') != std::string::npos) || has_nul(item)) {
                return true;
            }
        }
        return false;
    }

    /// The jsonb texts the PostgreSQL store sends, checked as PostgreSQL
    /// would: valid UTF-8 JSON with no NUL. (Two keys that differ only in
    /// invalid bytes become the same key; jsonb keeps the last, as the
    /// parser here does.)
    static void serialise(const storage::EventRecord& record) {
        for (const std::string& text : {storage::jsonb_text(record.event.payload),
                                        storage::jsonb_text(record.event.user_variables),
                                        storage::jsonb_text(record.event.tags)}) {
            const auto parsed = nlohmann::json::parse(text, nullptr, false);
            if (parsed.is_discarded() || has_nul(parsed)) {
                std::abort();
            }
        }
    }

    std::map<std::string, Ledger> m_tokens;
    std::set<std::tuple<std::string, EpochMicros, std::string>> m_events; ///< id, time, type
};

} // namespace leadhook::fuzz
