// Mailgun's own suppression lists into leadhook's (`leadhook backfill
// --suppressions`): each list page by page, a transaction per page.
#include "app/backfill.hpp"

namespace leadhook::app {

Expected<std::map<std::string, ListImport>, ReadError>
import_suppression_lists(const std::string& domain, MailgunReader& reader,
                         storage::BackfillStore& store, const Clock& clock,
                         const std::atomic<bool>& stop) {
    std::map<std::string, ListImport> imported;
    for (const auto list :
         {mailgun::api::SuppressionList::bounces, mailgun::api::SuppressionList::complaints,
          mailgun::api::SuppressionList::unsubscribes}) {
        ListImport& counts = imported[std::string(mailgun::api::to_string(list))];
        std::optional<std::string> next;
        do {
            if (stop.load()) {
                return unexpected(ReadError{ReadFailure::interrupted, "interrupted"});
            }
            auto body =
                reader.read(mailgun::api::suppression_call(reader.base(), domain, list, next));
            if (!body) {
                return unexpected(std::move(body).error());
            }
            auto page = mailgun::api::parse_suppression_page(list, *body, next);
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
