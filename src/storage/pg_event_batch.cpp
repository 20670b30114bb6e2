// PgEventStore's writes: a batch of events in one transaction, with
// set-based statements (storage/pg_rows) whose number does not grow with
// the batch. BEGIN travels with the first statement and COMMIT with the
// last (one round trip each, libpq's pipeline mode): a batch normally
// takes three round trips, which is most of a lone webhook's wait.
#include "storage/batch_plan.hpp"
#include "storage/pg_event_store.hpp"
#include "storage/pg_rows.hpp"

#include <map>
#include <set>

namespace leadhook::storage {
namespace {

std::optional<std::int64_t> id_at(const PgResult& r, int row, int col) {
    if (r.is_null(row, col)) {
        return std::nullopt;
    }
    return std::stoll(std::string(r.text(row, col)));
}

/// The statements of one batch's transaction, in order; each returns the
/// error that ends it, if any.
class BatchTransaction {
  public:
    /// `commit_sent` is set once COMMIT has gone to the server: from then
    /// on the outcome of a lost connection is unknown.
    BatchTransaction(PgConnection& conn, std::span<const EventRecord* const> records,
                     bool& commit_sent)
        : m_conn(conn), m_batch(records), m_commit_sent(commit_sent) {}

    /// Begins, runs the statements and commits; on an error, the
    /// transaction may still be open (roll it back).
    std::optional<StoreError> run() {
        for (auto step :
             {&BatchTransaction::find_and_lock_leads, &BatchTransaction::claim_and_append,
              &BatchTransaction::judge_used_tokens, &BatchTransaction::link_repeats,
              &BatchTransaction::update_leads_and_commit}) {
            if (auto error = (this->*step)()) {
                return error;
            }
        }
        return std::nullopt;
    }

    BatchResults results() const { return m_batch.outcomes(); }

  private:
    /// Before the claim, so that the ledger row is written whole. A lead
    /// deleted before its lock is not returned: its events are unmatched.
    std::optional<StoreError> find_and_lock_leads() {
        PgColumns rows = lookup_rows();
        m_batch.for_each_owner([&rows](std::size_t i, const BatchItem& item) {
            const auto& event = item.record->event;
            rows.int4("i", static_cast<std::int32_t>(i))
                .text("message_id", event.message_id)
                .text("recipient", event.recipient)
                .end_row();
        });
        auto locked = m_conn.exec_between("BEGIN", resolve_and_lock_leads, rows.finish(),
                                          /*after=*/nullptr);
        if (!locked) {
            return locked.error();
        }
        auto& items = m_batch.items();
        for (int row = 0; row < locked->rows(); ++row) {
            const auto id = id_at(*locked, row, 0); // never NULL: a joined leads row
            const auto i = static_cast<std::size_t>(integer_at(*locked, row, lead_columns));
            if (!id || i >= items.size()) {
                continue;
            }
            items[i].lead_id = id;
            m_leads.try_emplace(*id, read_lead(*locked, row));
        }
        return std::nullopt;
    }

    std::optional<StoreError> claim_and_append() {
        PgColumns rows = event_rows();
        m_batch.for_each_owner([&rows](std::size_t i, const BatchItem& item) {
            write_event_row(rows, static_cast<int>(i), item.token, *item.record, item.lead_id);
        });
        auto claimed = m_conn.exec(
            m_batch.has_api_events() ? claim_and_insert_api : claim_and_insert, rows.finish());
        if (!claimed) {
            return claimed.error();
        }
        for (int row = 0; row < claimed->rows(); ++row) {
            if (BatchItem* owner = m_batch.owner_of(claimed->text(row, 0))) {
                owner->claimed = true;
                owner->event_id = id_at(*claimed, row, 1);
                owner->written = claimed->text(row, 2) == "t";
            }
        }
        return std::nullopt;
    }

    /// Tokens already in the ledger: their requests are duplicates or forgeries.
    std::optional<StoreError> judge_used_tokens() {
        PgColumns tokens = token_rows();
        m_batch.for_each_owner([&tokens](std::size_t, const BatchItem& item) {
            if (!item.claimed) {
                tokens.text("token", item.token).end_row();
            }
        });
        if (tokens.empty()) {
            return std::nullopt;
        }
        auto entries = m_conn.exec(read_ledger, tokens.finish());
        if (!entries) {
            return entries.error();
        }
        for (int row = 0; row < entries->rows(); ++row) {
            m_batch.add_ledger_entry(
                std::string(entries->text(row, 0)),
                LedgerEntry{std::string(entries->text(row, 1)), id_at(*entries, row, 2)});
        }
        return std::nullopt;
    }

    /// New tokens for Mailgun events stored before (or earlier in this batch).
    std::optional<StoreError> link_repeats() {
        PgColumns rows = repeat_rows();
        m_batch.for_each_new([&rows](std::size_t, BatchItem& item) {
            if (!item.written) {
                item.lead_id.reset(); // the original's lead, if any, comes from the link
                rows.text("token", item.token)
                    .text("mailgun_event_id", item.record->event.mailgun_event_id)
                    .int8("event_time", item.record->event_time)
                    .text("event_type", mailgun::to_string(item.record->event.type))
                    .end_row();
            }
        });
        if (rows.empty()) {
            return std::nullopt;
        }
        auto linked = m_conn.exec(link_to_originals, rows.finish());
        if (!linked) {
            return linked.error();
        }
        for (int row = 0; row < linked->rows(); ++row) {
            if (BatchItem* owner = m_batch.owner_of(linked->text(row, 0))) {
                owner->lead_id = id_at(*linked, row, 1);
            }
        }
        return std::nullopt;
    }

    /// The lead-state rules, event by event in arrival order; each changed
    /// lead written once, and COMMIT.
    std::optional<StoreError> update_leads_and_commit() {
        std::set<std::int64_t> changed;
        m_batch.for_each_new([this, &changed](std::size_t, BatchItem& item) {
            const auto lead =
                item.written && item.lead_id ? m_leads.find(*item.lead_id) : m_leads.end();
            const EventRecord& r = *item.record;
            if (lead != m_leads.end() &&
                domain::apply_event(lead->second, r.event, r.event_time, r.received_at)) {
                changed.insert(lead->first);
            }
        });
        m_commit_sent = true;
        const std::uint64_t warnings = m_conn.warnings();
        if (changed.empty()) {
            auto committed = m_conn.exec("COMMIT");
            return committed ? unconfirmed_since(warnings) : std::optional(committed.error());
        }
        PgColumns rows = lead_rows();
        for (const std::int64_t id : changed) {
            write_lead_row(rows, id, m_leads[id]);
        }
        auto updated =
            m_conn.exec_between(/*before=*/nullptr, storage::update_leads, rows.finish(), "COMMIT");
        return updated ? unconfirmed_since(warnings) : std::optional(updated.error());
    }

    /// A COMMIT that succeeded with a WARNING is not acknowledged: the
    /// server warns so when it stopped waiting for the synchronous standby
    /// (a cancelled wait), and such a commit can be lost in a failover. The
    /// retry finds its token in the ledger if it survived, or stores it anew.
    std::optional<StoreError> unconfirmed_since(std::uint64_t warnings) const {
        if (m_conn.warnings() == warnings) {
            return std::nullopt;
        }
        return StoreError{StoreFailure::unavailable, "",
                          "COMMIT answered with a warning (the wait for the synchronous standby "
                          "cancelled?): not acknowledged"};
    }

    PgConnection& m_conn;
    BatchPlan m_batch;
    bool& m_commit_sent;
    std::map<std::int64_t, domain::LeadState> m_leads;
};

} // namespace

Expected<BatchResults, StoreError>
PgEventStore::write_batch(std::span<const EventRecord* const> records) {
    if (auto error = ensure_partitions_for(records)) {
        return unexpected(*error);
    }
    BatchTransaction transaction(m_conn, records, m_commit_sent);
    if (auto error = transaction.run()) {
        return unexpected(rollback_with(*error));
    }
    return transaction.results();
}

} // namespace leadhook::storage
