#include "app/backfill.hpp"

#include "util/rfc3339.hpp"
#include "util/sha256.hpp"

#include <algorithm>
#include <cctype>

namespace leadhook::app {
namespace {

namespace api = mailgun::api;

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

/// An item that can be stored as its webhook would have been: a webhook
/// event of this domain, inside the range, with an id and a time. Mailgun's
/// id alone is not unique (only within a day): the duplicate rules need all.
std::optional<mailgun::Event> usable(const nlohmann::json& item, const BackfillRequest& request) {
    auto event = api::normalize_item(item);
    if (!event || !api::is_webhook_event(event->mailgun_event) || !event->event_time ||
        event->mailgun_event_id.empty()) {
        return std::nullopt;
    }
    if (!event->domain.empty() && lower(event->domain) != lower(request.domain)) {
        return std::nullopt;
    }
    if (*event->event_time < request.range.begin || *event->event_time >= request.range.end) {
        return std::nullopt;
    }
    return std::move(event).value();
}

std::string day_of(EpochMicros t) {
    return format_rfc3339(t).substr(0, 10);
}

storage::EventRecord record_of(const mailgun::Event& event, api::Source source, EpochMicros now) {
    const EpochMicros at = *event.event_time;
    std::string token = api_token(event, at);
    std::string digest = sha256(token); // the identity is the "body": never a forgery
    return storage::EventRecord{event,
                                at,
                                now,
                                at,
                                std::move(token),
                                "api", // no signature: read over the authenticated API
                                "mailgun-api",
                                std::move(digest),
                                "backfill:" + std::string(api::to_string(source)),
                                storage::EventSource::api};
}

/// What became of one page's events. A transient failure (the database
/// went away) stops the backfill; an event the database refuses outright
/// is skipped, so that one bad event cannot hold the range up for good.
struct PageWrite {
    std::optional<std::string> failure; ///< stop: nothing after the last checkpoint counts
    std::string refusal;                ///< the last event refused, for the user
};

PageWrite store_page(std::vector<mailgun::Event>& events, const BackfillRequest& request,
                     storage::BackfillStore& store, const Clock& clock,
                     storage::BackfillCounts& counts) {
    PageWrite write;
    if (events.empty()) {
        return write;
    }
    std::vector<storage::EventRecord> records;
    records.reserve(events.size());
    const EpochMicros now = clock.now();
    for (const auto& event : events) {
        records.push_back(record_of(event, request.source, now));
    }
    std::vector<const storage::EventRecord*> pointers;
    for (const auto& record : records) {
        pointers.push_back(&record);
    }
    storage::BackfillCounts page;
    for (const auto& result : store.record_page(pointers)) {
        if (result) {
            ++(result->status == storage::RecordStatus::stored ? page.stored : page.duplicate);
        } else if (result.error().kind == storage::StoreFailure::unavailable) {
            write.failure = "the database: " + result.error().message;
            return write;
        } else {
            ++page.skipped;
            write.refusal = result.error().message;
        }
    }
    counts.stored += page.stored;
    counts.duplicate += page.duplicate;
    counts.skipped += page.skipped;
    return write;
}

BackfillOutcome ended(BackfillEnd end, storage::BackfillCounts counts, storage::BackfillKey key,
                      std::string message) {
    return BackfillOutcome{end, counts, std::move(key), std::move(message)};
}

BackfillEnd end_of(ReadFailure failure) {
    switch (failure) {
    case ReadFailure::refused:
        return BackfillEnd::refused;
    case ReadFailure::interrupted:
        return BackfillEnd::interrupted;
    case ReadFailure::failed:
        return BackfillEnd::failed;
    }
    return BackfillEnd::failed;
}

} // namespace

std::string api_token(const mailgun::Event& event, EpochMicros event_time) {
    return "mailgun-api:" + event.mailgun_event_id + "/" + std::string(to_string(event.type)) +
           "/" + std::to_string(event_time);
}

BackfillOutcome backfill(const BackfillRequest& request, MailgunReader& reader,
                         storage::BackfillStore& store, const Clock& clock,
                         const std::atomic<bool>& stop, const PageDone& page_done) {
    storage::Checkpoint at{{request.domain, std::string(api::to_string(request.source)),
                            request.range.begin, request.range.end},
                           std::nullopt,
                           {},
                           false};
    if (request.resume) {
        auto found = store.find_checkpoint(at.key);
        if (!found) {
            return ended(BackfillEnd::failed, {}, at.key, "the database: " + found.error().message);
        }
        if (!*found) {
            return ended(BackfillEnd::refused, {}, at.key,
                         "no backfill of " + request.domain + " (" + at.key.api + " API) from " +
                             format_rfc3339(request.range.begin) + " to resume");
        }
        at = std::move(**found);
        if (at.finished) {
            return ended(BackfillEnd::complete, at.counts, at.key, "");
        }
    } else if (auto error = store.save_checkpoint(at, clock.now())) {
        // Before the first page, so that an interrupt during it can be resumed.
        return ended(BackfillEnd::failed, {}, at.key,
                     "the database (checkpoint): " + error->message);
    }
    std::string refusal;
    BackfillRequest resumed = request;
    resumed.range.end = at.key.end;
    while (true) {
        if (stop.load()) {
            return ended(BackfillEnd::interrupted, at.counts, at.key, "interrupted");
        }
        const auto call = api::events_call(request.source, reader.base(), request.domain,
                                           resumed.range, at.cursor);
        auto body = reader.read(call);
        if (!body) {
            return ended(end_of(body.error().kind), at.counts, at.key, body.error().message);
        }
        auto page = api::parse_event_page(request.source, *body, at.cursor);
        if (!page) {
            return ended(BackfillEnd::failed, at.counts, at.key, "Mailgun: " + page.error());
        }
        std::vector<mailgun::Event> events;
        for (const auto& item : page->items) {
            ++at.counts.fetched;
            if (auto event = usable(item, resumed)) {
                events.push_back(std::move(*event));
            } else {
                ++at.counts.skipped;
            }
        }
        auto written = store_page(events, resumed, store, clock, at.counts);
        if (written.failure) {
            return ended(BackfillEnd::failed, at.counts, at.key, *written.failure);
        }
        if (!written.refusal.empty()) {
            refusal = std::move(written.refusal);
        }
        ++at.counts.pages;
        at.cursor = page->next;
        at.finished = !page->next;
        if (auto error = store.save_checkpoint(at, clock.now())) {
            return ended(BackfillEnd::failed, at.counts, at.key,
                         "the database (checkpoint): " + error->message);
        }
        if (page_done) {
            page_done(at.counts);
        }
        if (at.finished) {
            return ended(BackfillEnd::complete, at.counts, at.key,
                         refusal.empty() ? "" : "the database refused an event: " + refusal);
        }
    }
}

Expected<Reconciliation, ReadError> reconcile(const BackfillRequest& request, MailgunReader& reader,
                                              storage::BackfillStore& store,
                                              const std::atomic<bool>& stop,
                                              const PageDone& page_done) {
    Reconciliation out;
    std::map<std::pair<std::string, std::string>, ReconcileRow> rows;
    std::optional<std::string> cursor;
    do {
        if (stop.load()) {
            return unexpected(ReadError{ReadFailure::interrupted, "interrupted"});
        }
        auto body = reader.read(
            api::events_call(request.source, reader.base(), request.domain, request.range, cursor));
        if (!body) {
            return unexpected(std::move(body).error());
        }
        auto page = api::parse_event_page(request.source, *body, cursor);
        if (!page) {
            return unexpected(ReadError{ReadFailure::failed, "Mailgun: " + page.error()});
        }
        for (const auto& item : page->items) {
            ++out.counts.fetched;
            if (auto event = usable(item, request)) {
                const auto type = std::string(to_string(event->type));
                auto& row = rows[{day_of(*event->event_time), type}];
                row.day = day_of(*event->event_time);
                row.event_type = type;
                ++row.mailgun;
            } else {
                ++out.counts.skipped;
            }
        }
        ++out.counts.pages;
        cursor = page->next;
        if (page_done) {
            page_done(out.counts);
        }
    } while (cursor);
    const storage::BackfillKey key{request.domain, std::string(api::to_string(request.source)),
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

Expected<std::map<std::string, ListImport>, ReadError>
import_suppression_lists(const std::string& domain, MailgunReader& reader,
                         storage::BackfillStore& store, const Clock& clock,
                         const std::atomic<bool>& stop) {
    std::map<std::string, ListImport> imported;
    for (const auto list : {api::SuppressionList::bounces, api::SuppressionList::complaints,
                            api::SuppressionList::unsubscribes}) {
        ListImport& counts = imported[std::string(api::to_string(list))];
        std::optional<std::string> next;
        do {
            if (stop.load()) {
                return unexpected(ReadError{ReadFailure::interrupted, "interrupted"});
            }
            auto body = reader.read(api::suppression_call(reader.base(), domain, list, next));
            if (!body) {
                return unexpected(std::move(body).error());
            }
            auto page = api::parse_suppression_page(list, *body);
            if (!page) {
                return unexpected(ReadError{ReadFailure::failed, "Mailgun: " + page.error()});
            }
            std::vector<storage::ListedSuppression> entries;
            for (auto& entry : page->entries) {
                entries.push_back({std::move(entry.address), std::move(entry.reason),
                                   std::move(entry.detail),
                                   entry.created_at.value_or(clock.now())});
            }
            counts.fetched += static_cast<long long>(entries.size() + page->skipped);
            counts.skipped += static_cast<long long>(page->skipped);
            auto written = store.import_suppressions(entries);
            if (!written) {
                return unexpected(
                    ReadError{ReadFailure::failed, "the database: " + written.error().message});
            }
            counts.added += written->added;
            counts.unchanged += written->unchanged;
            next = page->next;
        } while (next);
    }
    return imported;
}

} // namespace leadhook::app
