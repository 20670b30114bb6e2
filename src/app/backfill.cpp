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

} // namespace

std::optional<mailgun::Event> usable_event(const nlohmann::json& item,
                                           const BackfillRequest& request) {
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

Expected<UsablePage, ReadError> read_usable_page(const BackfillRequest& request,
                                                 MailgunReader& reader,
                                                 const std::optional<std::string>& cursor) {
    auto body = reader.read(
        api::events_call(request.source, reader.base(), request.domain, request.range, cursor));
    if (!body) {
        return unexpected(std::move(body).error());
    }
    auto page = api::parse_event_page(request.source, *body, cursor);
    if (!page) {
        return unexpected(ReadError{ReadFailure::failed, "Mailgun: " + page.error()});
    }
    UsablePage usable;
    for (const auto& item : page->items) {
        ++usable.fetched;
        if (auto event = usable_event(item, request)) {
            usable.events.push_back(std::move(*event));
        } else {
            ++usable.skipped;
        }
    }
    usable.next = std::move(page->next);
    return usable;
}

namespace {

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

PageWrite store_page(const std::vector<mailgun::Event>& events, const BackfillRequest& request,
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
    for (const auto& result : store.record_page(pointers)) {
        if (result) {
            ++(result->status == storage::RecordStatus::stored ? counts.stored : counts.duplicate);
        } else if (result.error().kind == storage::StoreFailure::unavailable) {
            write.failure = "the database: " + result.error().message;
            return write;
        } else {
            ++counts.skipped;
            write.refusal = result.error().message;
        }
    }
    return write;
}

BackfillOutcome ended(BackfillEnd end, storage::BackfillCounts counts, storage::BackfillKey key,
                      std::string message) {
    return BackfillOutcome{end, counts, std::move(key), std::move(message)};
}

} // namespace

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

std::string api_token(const mailgun::Event& event, EpochMicros event_time) {
    return "mailgun-api:" + event.mailgun_event_id + "/" + std::string(to_string(event.type)) +
           "/" + std::to_string(event_time);
}

namespace {

/// Where this run starts: the stored checkpoint with --resume (an outcome
/// when there is none, or it is complete), else a new one, saved before the
/// first page so that an interrupt during it can be resumed.
Expected<storage::Checkpoint, BackfillOutcome>
starting_point(const BackfillRequest& request, storage::BackfillStore& store, const Clock& clock) {
    storage::Checkpoint at{{request.domain, std::string(api::to_string(request.source)),
                            request.range.begin, request.range.end},
                           std::nullopt,
                           {},
                           false};
    if (!request.resume) {
        if (auto error = store.save_checkpoint(at, clock.now())) {
            return unexpected(ended(BackfillEnd::failed, {}, at.key,
                                    "the database (checkpoint): " + error->message));
        }
        return at;
    }
    auto found = store.find_checkpoint(at.key);
    if (!found) {
        return unexpected(
            ended(BackfillEnd::failed, {}, at.key, "the database: " + found.error().message));
    }
    if (!*found) {
        return unexpected(ended(BackfillEnd::refused, {}, at.key,
                                "no backfill of " + request.domain + " (" + at.key.api +
                                    " API) from " + format_rfc3339(request.range.begin) +
                                    " to resume"));
    }
    if ((*found)->finished) {
        return unexpected(ended(BackfillEnd::complete, (*found)->counts, (*found)->key, ""));
    }
    return std::move(**found);
}

/// One page read, its usable events stored; `page_counts` says what became
/// of its items. The next cursor, or an outcome that ends the run.
Expected<std::optional<std::string>, BackfillOutcome>
backfill_page(const BackfillRequest& request, const storage::Checkpoint& at, MailgunReader& reader,
              storage::BackfillStore& store, const Clock& clock,
              storage::BackfillCounts& page_counts, std::string& refusal) {
    auto page = read_usable_page(request, reader, at.cursor);
    if (!page) {
        return unexpected(
            ended(end_of(page.error().kind), at.counts, at.key, page.error().message));
    }
    page_counts.fetched += page->fetched;
    page_counts.skipped += page->skipped;
    auto written = store_page(page->events, request, store, clock, page_counts);
    if (written.failure) {
        return unexpected(ended(BackfillEnd::failed, at.counts, at.key, *written.failure));
    }
    if (!written.refusal.empty()) {
        refusal = std::move(written.refusal);
    }
    return std::move(page->next);
}

} // namespace

BackfillOutcome backfill(const BackfillRequest& request, MailgunReader& reader,
                         storage::BackfillStore& store, const Clock& clock,
                         const std::atomic<bool>& stop, const PageDone& page_done) {
    auto start = starting_point(request, store, clock);
    if (!start) {
        return std::move(start).error();
    }
    storage::Checkpoint at = std::move(start).value();
    BackfillRequest range = request;
    range.range.end = at.key.end; // a resumed range's own end
    std::string refusal;
    while (!stop.load()) {
        storage::BackfillCounts page;
        auto next = backfill_page(range, at, reader, store, clock, page, refusal);
        if (!next) {
            return std::move(next).error();
        }
        // Counted once stored, so that a failed page is not in the summary.
        at.counts.pages += 1;
        at.counts.fetched += page.fetched;
        at.counts.stored += page.stored;
        at.counts.duplicate += page.duplicate;
        at.counts.skipped += page.skipped;
        at.cursor = std::move(next).value();
        at.finished = !at.cursor;
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
    return ended(BackfillEnd::interrupted, at.counts, at.key, "interrupted");
}

} // namespace leadhook::app
