// `leadhook backfill --dry-run`: Mailgun's events of a range against what
// leadhook holds, per UTC day and event type, writing nothing.
#include "app/backfill.hpp"

#include "util/rfc3339.hpp"

namespace leadhook::app {

namespace {

using ReconcileRows = std::map<std::pair<std::string, std::string>, ReconcileRow>;

/// Counts one page's usable events into their day and type, and those of
/// them leadhook does not hold.
std::optional<ReadError> tally(const std::vector<mailgun::Event>& events,
                               storage::BackfillStore& store, ReconcileRows& rows) {
    auto held = store.held_events(events);
    if (!held) {
        return ReadError{ReadFailure::failed, "the database: " + held.error().message};
    }
    for (std::size_t i = 0; i < events.size(); ++i) {
        const auto& event = events[i];
        const std::string day = format_rfc3339(*event.event_time).substr(0, 10); // UTC
        const std::string type(to_string(event.type));
        auto& row = rows[{day, type}];
        row.day = day;
        row.event_type = type;
        ++row.mailgun;
        row.missing += (*held)[i] ? 0 : 1;
    }
    return std::nullopt;
}

} // namespace

Expected<Reconciliation, ReadError> reconcile(const BackfillRequest& request, MailgunReader& reader,
                                              storage::BackfillStore& store,
                                              const std::atomic<bool>& stop,
                                              const PageDone& page_done) {
    Reconciliation out;
    ReconcileRows rows;
    std::optional<std::string> cursor;
    do {
        if (stop.load()) {
            return unexpected(ReadError{ReadFailure::interrupted, "interrupted"});
        }
        auto page = read_usable_page(request, reader, cursor);
        if (!page) {
            return unexpected(std::move(page).error());
        }
        out.counts.fetched += page->fetched;
        out.counts.skipped += page->skipped;
        if (auto error = tally(page->events, store, rows)) {
            return unexpected(std::move(*error));
        }
        ++out.counts.pages;
        cursor = page->next;
        if (page_done) {
            page_done(out.counts);
        }
    } while (cursor);
    const storage::BackfillKey key{request.domain,
                                   std::string(mailgun::api::to_string(request.source)),
                                   request.range.begin, request.range.end};
    auto held = store.held_counts(key);
    if (!held) {
        return unexpected(ReadError{ReadFailure::failed, "the database: " + held.error().message});
    }
    for (const auto& count : *held) {
        auto& row = rows[{count.day, count.event_type}];
        row.day = count.day;
        row.event_type = count.event_type;
        row.leadhook = count.count;
    }
    for (auto& [key_, row] : rows) {
        out.rows.push_back(std::move(row));
    }
    return out;
}

} // namespace leadhook::app
