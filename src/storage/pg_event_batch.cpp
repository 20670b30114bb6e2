// PgEventStore's writes: a batch of events in one transaction, with
// set-based statements (storage/pg_rows) whose number does not grow with
// the batch.
#include "storage/batch_plan.hpp"
#include "storage/pg_event_store.hpp"
#include "storage/pg_rows.hpp"
#include "util/hex.hpp"

#include <array>
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

std::array<PgParam, 1> rows_param(JsonbText& rows) {
    return {rows.finish()};
}

/// The statements of one batch's transaction, in order; each returns the
/// error that ends it, if any.
class BatchTransaction {
  public:
    BatchTransaction(PgConnection& conn, std::span<const EventRecord* const> records)
        : m_conn(conn), m_batch(records) {}

    std::optional<StoreError> run() {
        if (auto error = find_leads()) {
            return error;
        }
        if (auto error = claim()) {
            return error;
        }
        if (auto error = judge_used_tokens()) {
            return error;
        }
        if (!any_claimed()) {
            return std::nullopt;
        }
        for (auto step : {&BatchTransaction::lock_leads, &BatchTransaction::append_events,
                          &BatchTransaction::link_repeats, &BatchTransaction::update_leads}) {
            if (auto error = (this->*step)()) {
                return error;
            }
        }
        return std::nullopt;
    }

    BatchResults results() const { return m_batch.outcomes(); }

  private:
    /// Sets `flag` on the owner of each token a statement returned (column 0).
    void mark_owners(const PgResult& result, bool BatchItem::*flag) {
        for (int row = 0; row < result.rows(); ++row) {
            if (BatchItem* owner = m_batch.owner_of(result.text(row, 0))) {
                owner->*flag = true;
            }
        }
    }

    bool any_claimed() {
        bool any = false;
        m_batch.for_each_new([&any](std::size_t, BatchItem&) { any = true; });
        return any;
    }

    std::optional<StoreError> claim() {
        JsonbText rows;
        m_batch.for_each_owner([&rows](std::size_t, const BatchItem& item) {
            const EventRecord& r = *item.record;
            rows.begin_object()
                .text("token", item.token)
                .text("sha256", to_hex(r.body_sha256))
                .number("signed_at", r.signed_at)
                .number("received_at", r.received_at)
                .text("key_label", r.key_label)
                .number("lead_id", item.lead_id)
                .end_object();
        });
        auto claimed = m_conn.exec(claim_tokens, rows_param(rows));
        if (!claimed) {
            return claimed.error();
        }
        for (int row = 0; row < claimed->rows(); ++row) {
            if (BatchItem* owner = m_batch.owner_of(claimed->text(row, 0))) {
                owner->claimed = true;
                owner->event_id = id_at(*claimed, row, 1);
            }
        }
        return std::nullopt;
    }

    /// Tokens already in the ledger: their requests are duplicates or forgeries.
    std::optional<StoreError> judge_used_tokens() {
        JsonbText tokens;
        m_batch.for_each_owner([&tokens](std::size_t, const BatchItem& item) {
            if (!item.claimed) {
                tokens.element(item.token);
            }
        });
        if (tokens.empty()) {
            return std::nullopt;
        }
        auto entries = m_conn.exec(read_ledger, rows_param(tokens));
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

    /// Before the claim, so that the ledger row is written whole; nothing is
    /// locked yet, so a lead may still go before lock_leads().
    std::optional<StoreError> find_leads() {
        JsonbText rows;
        m_batch.for_each_owner([&rows](std::size_t i, const BatchItem& item) {
            const auto& event = item.record->event;
            rows.begin_object()
                .number("i", static_cast<std::int64_t>(i))
                .text("message_id", event.message_id)
                .text("recipient", event.recipient)
                .end_object();
        });
        auto found = m_conn.exec(resolve_leads, rows_param(rows));
        if (!found) {
            return found.error();
        }
        auto& items = m_batch.items();
        for (int row = 0; row < found->rows(); ++row) {
            const auto i = std::stoul(std::string(found->text(row, 0)));
            if (i < items.size()) {
                items[i].lead_id = id_at(*found, row, 1);
            }
        }
        return std::nullopt;
    }

    std::optional<StoreError> lock_leads() {
        std::set<std::int64_t> ids;
        m_batch.for_each_new([&ids](std::size_t, BatchItem& item) {
            if (item.lead_id) {
                ids.insert(*item.lead_id);
            }
        });
        if (ids.empty()) {
            return std::nullopt;
        }
        JsonbText id_list;
        for (const std::int64_t id : ids) {
            id_list.element(id);
        }
        auto locked = m_conn.exec(storage::lock_leads, rows_param(id_list));
        if (!locked) {
            return locked.error();
        }
        for (int row = 0; row < locked->rows(); ++row) {
            m_leads[*id_at(*locked, row, 0)] = read_lead(*locked, row);
        }
        // A lead deleted since it was found: the event is stored unmatched.
        JsonbText gone;
        m_batch.for_each_new([this, &gone](std::size_t, BatchItem& item) {
            if (item.lead_id && !m_leads.contains(*item.lead_id)) {
                item.lead_id.reset();
                gone.element(item.token);
            }
        });
        if (gone.empty()) {
            return std::nullopt;
        }
        auto forgotten = m_conn.exec(forget_leads, rows_param(gone));
        return forgotten ? std::nullopt : std::optional(forgotten.error());
    }

    std::optional<StoreError> append_events() {
        JsonbText rows;
        m_batch.for_each_new([&rows](std::size_t i, const BatchItem& item) {
            write_event_row(rows, static_cast<int>(i), item.event_id.value(), *item.record,
                            item.lead_id);
        });
        auto inserted = m_conn.exec(insert_events, rows_param(rows));
        if (!inserted) {
            return inserted.error();
        }
        mark_owners(*inserted, &BatchItem::written);
        return std::nullopt;
    }

    /// New tokens for Mailgun events stored before (or earlier in this batch).
    std::optional<StoreError> link_repeats() {
        JsonbText rows;
        m_batch.for_each_new([&rows](std::size_t, BatchItem& item) {
            if (!item.written) {
                item.lead_id.reset(); // the original's lead, if any, comes from the link
                rows.begin_object()
                    .text("token", item.token)
                    .text("mailgun_event_id", item.record->event.mailgun_event_id)
                    .number("event_time", item.record->event_time)
                    .end_object();
            }
        });
        if (rows.empty()) {
            return std::nullopt;
        }
        auto linked = m_conn.exec(link_to_originals, rows_param(rows));
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
    /// lead written once.
    std::optional<StoreError> update_leads() {
        std::set<std::int64_t> changed;
        m_batch.for_each_new([this, &changed](std::size_t, BatchItem& item) {
            const auto lead =
                item.written && item.lead_id ? m_leads.find(*item.lead_id) : m_leads.end();
            const EventRecord& r = *item.record;
            if (lead != m_leads.end() &&
                app::apply_event(lead->second, r.event, r.event_time, r.received_at)) {
                changed.insert(lead->first);
            }
        });
        if (changed.empty()) {
            return std::nullopt;
        }
        JsonbText rows;
        for (const std::int64_t id : changed) {
            write_lead_row(rows, id, m_leads[id]);
        }
        if (auto updated = m_conn.exec(storage::update_leads, rows_param(rows)); !updated) {
            return updated.error();
        }
        return std::nullopt;
    }

    PgConnection& m_conn;
    BatchPlan m_batch;
    std::map<std::int64_t, app::LeadState> m_leads;
};

} // namespace

Expected<BatchResults, StoreError>
PgEventStore::write_batch(std::span<const EventRecord* const> records) {
    if (auto error = ensure_partitions_for(records)) {
        return unexpected(*error);
    }
    if (auto begun = m_conn.exec("BEGIN"); !begun) {
        return unexpected(begun.error());
    }
    BatchTransaction transaction(m_conn, records);
    if (auto error = transaction.run()) {
        return unexpected(rollback_with(*error));
    }
    return commit_with(transaction.results());
}

} // namespace leadhook::storage
