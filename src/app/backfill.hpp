#pragma once
// `leadhook backfill`'s use cases: events read back from Mailgun's API and
// stored exactly as their webhooks would have been (same normalisation,
// same duplicate rules, same lead-state rules); the reconciliation of what
// Mailgun has against what leadhook holds; Mailgun's suppression lists.
#include "app/mailgun_reader.hpp"
#include "storage/backfill_store.hpp"

#include <atomic>
#include <map>
#include <string>
#include <vector>

namespace leadhook::app {

struct BackfillRequest {
    std::string domain;
    mailgun::api::Source source = mailgun::api::Source::logs;
    mailgun::api::Range range; ///< end 0 with resume: the newest interrupted range
    bool resume = false;
};

enum class BackfillEnd {
    complete,    ///< every page stored (or nothing to do)
    interrupted, ///< stopped after a committed page; --resume continues
    refused,     ///< 401/403, or nothing to resume: a usage or key problem (exit 2)
    failed,      ///< the API or the database failed; --resume continues (exit 1)
};

/// How a failed read ends a run (and so the exit status).
BackfillEnd end_of(ReadFailure failure);

struct BackfillOutcome {
    BackfillEnd end = BackfillEnd::complete;
    storage::BackfillCounts counts;
    storage::BackfillKey key; ///< the range, as resumed
    /// Why it did not complete; when it did, empty, or what the database
    /// said of the last event it refused (counted as skipped).
    std::string message;
};

/// Told after each committed page, for the progress line.
using PageDone = std::function<void(const storage::BackfillCounts&)>;

/// An item as the Event its webhook would give, when it can be stored so:
/// a webhook event of this domain, inside the range, with an id and a time
/// (Mailgun's id is unique only within a day: the duplicate rules need all
/// three). nullopt: skipped.
std::optional<mailgun::Event> usable_event(const nlohmann::json& item,
                                           const BackfillRequest& request);

/// One page of the range, read: its usable events (usable_event), how many
/// items it had and how many were skipped, and where the next page is.
struct UsablePage {
    std::vector<mailgun::Event> events;
    long long fetched = 0, skipped = 0;
    std::optional<std::string> next;
};

/// Reads the page at `cursor` (nullopt: the first) of the request's range.
Expected<UsablePage, ReadError> read_usable_page(const BackfillRequest& request,
                                                 MailgunReader& reader,
                                                 const std::optional<std::string>& cursor);

/// The identity a backfilled event is stored under in the token ledger:
/// "mailgun-api:ID/TYPE/MICROS", which no webhook token can be (Mailgun's
/// are hex). The same event read twice claims the same token.
std::string api_token(const mailgun::Event& event, EpochMicros event_time);

/// Stores events page by page, one transaction per page, and the checkpoint
/// after each. `stop` is checked between pages.
BackfillOutcome backfill(const BackfillRequest& request, MailgunReader& reader,
                         storage::BackfillStore& store, const Clock& clock,
                         const std::atomic<bool>& stop, const PageDone& page_done = {});

/// A day and event type (the normalised one, as stored): Mailgun's count,
/// leadhook's, and how many of Mailgun's events leadhook does not hold
/// (each looked up by the write's own duplicate rules, not by count).
struct ReconcileRow {
    std::string day;
    std::string event_type;
    long long mailgun = 0;
    long long leadhook = 0;
    long long missing = 0;
};

struct Reconciliation {
    std::vector<ReconcileRow> rows; ///< by day, then type
    storage::BackfillCounts counts; ///< pages, fetched, skipped
};

/// Reads the range's pages (writing nothing) and compares per day and type.
Expected<Reconciliation, ReadError> reconcile(const BackfillRequest& request, MailgunReader& reader,
                                              storage::BackfillStore& store,
                                              const std::atomic<bool>& stop,
                                              const PageDone& page_done = {});

struct ListImport {
    long long fetched = 0, added = 0, unchanged = 0, skipped = 0;
};

/// Imports the domain's bounces, complaints and unsubscribes into the
/// suppression list, a page per transaction. Keys: bounces, complaints,
/// unsubscribes.
Expected<std::map<std::string, ListImport>, ReadError>
import_suppression_lists(const std::string& domain, MailgunReader& reader,
                         storage::BackfillStore& store, const Clock& clock,
                         const std::atomic<bool>& stop);

} // namespace leadhook::app
