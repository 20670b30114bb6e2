#include "app/reverify.hpp"

#include <string>

namespace leadhook::app {
namespace {

constexpr int page_rows = 100;

http::Request replayed(const storage::QuarantinedRequest& row) {
    return http::Request{.method = "POST",
                         .path = row.path,
                         .content_type = row.content_type,
                         .body = row.body,
                         .body_too_large = false,
                         .remote_addr = row.remote_addr,
                         .request_id = "reverify-" + std::to_string(row.id),
                         .received_at = row.received_at};
}

bool is_store_failure(Outcome outcome) {
    return outcome == Outcome::db_unavailable || outcome == Outcome::internal_error;
}

void print(std::FILE* out, const char* verdict, const storage::QuarantinedRequest& row,
           const std::string& what) {
    std::fprintf(out, "%-9s #%lld  %s  %s  %s\n", verdict, static_cast<long long>(row.id),
                 format_utc(row.received_at).c_str(), row.path.c_str(), what.c_str());
}

std::string accepted_text(const Reply& reply) {
    std::string text = reply.event;
    text += reply.lead_id ? " lead " + std::to_string(*reply.lead_id) : " no lead matched";
    return text + " (key " + reply.key_label + ")";
}

} // namespace

Expected<ReverifyCounts, storage::StoreError>
reverify(storage::QuarantineLog& quarantine, const WebhookHandler& handler, std::FILE* out) {
    ReverifyCounts counts;
    for (std::int64_t after = 0;;) {
        auto page = quarantine.list(after, page_rows);
        if (!page) {
            return unexpected(page.error());
        }
        for (const auto& row : *page) {
            after = row.id;
            const Route* route = find_route(row.path);
            if (!route || route->kind != RouteKind::webhook) {
                print(out, "skipped", row, "not_found: no webhook route for this path");
                ++counts.skipped;
                continue;
            }
            const Reply reply = handler.handle(replayed(row), *route);
            if (is_store_failure(reply.outcome)) {
                return unexpected(storage::StoreError{storage::StoreFailure::unavailable, "",
                                                      reply.message + ": " + reply.detail});
            }
            const bool done = reply.outcome == Outcome::stored ||
                              reply.outcome == Outcome::unmatched ||
                              reply.outcome == Outcome::duplicate;
            if (!done) {
                print(out, "skipped", row,
                      std::string(info(reply.outcome).label) + ": " + reply.message);
                ++counts.skipped;
                continue;
            }
            if (auto removed = quarantine.remove(row.id); !removed) {
                return unexpected(removed.error());
            }
            const bool dup = reply.outcome == Outcome::duplicate;
            print(out, dup ? "duplicate" : "imported", row, accepted_text(reply));
            ++(dup ? counts.duplicate : counts.imported);
        }
        if (static_cast<int>(page->size()) < page_rows) {
            return counts;
        }
    }
}

} // namespace leadhook::app
