// libFuzzer target for what backfill reads from Mailgun's API: event pages
// of both APIs, suppression list pages, their items as Events, and the
// dates and Retry-After values in them. The first byte picks the reader.
// Beyond "no crash": a page's next cursor is never empty (nor the one just
// asked for), a suppression address is lower-case and
// trimmed, and a parsed date formats and parses back to itself.
#include "mailgun/api.hpp"
#include "net/retry.hpp"
#include "util/rfc2822.hpp"

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace leadhook;
namespace api = leadhook::mailgun::api;

namespace {

void require(bool holds) {
    if (!holds) {
        std::abort();
    }
}

void read_event_page(api::Source source, std::string_view body) {
    const std::optional<std::string> cursor = std::string("cursor-1");
    auto page = api::parse_event_page(source, body, cursor);
    if (!page) {
        require(!page.error().empty());
        return;
    }
    require(!page->next || !page->next->empty());
    require(page->next != cursor);
    require(!page->next || !page->items.empty());
    for (const auto& item : page->items) {
        auto event = api::normalize_item(item);
        require(event || !event.error().message.empty());
    }
}

void read_suppressions(api::SuppressionList list, std::string_view body) {
    const std::optional<std::string> fetched = std::string("https://api.mailgun.net/v3/d/bounces");
    auto page = api::parse_suppression_page(list, body, fetched);
    if (!page) {
        return;
    }
    require(page->next != fetched);
    for (const auto& entry : page->entries) {
        for (const char c : entry.address) {
            require(!std::isupper(static_cast<unsigned char>(c)));
        }
        require(entry.address.empty() ||
                (entry.address.front() != ' ' && entry.address.back() != ' '));
    }
}

void read_date(std::string_view text) {
    if (const auto t = parse_rfc2822(text)) {
        const auto again = parse_rfc2822(format_rfc2822(*t));
        require(again && *again == *t - *t % 1000000);
    }
    const auto wait = net::retry_after_wait(text, 1798761600000000);
    require(!wait || *wait >= 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 6) {
    case 0:
        read_event_page(api::Source::logs, body);
        break;
    case 1:
        read_event_page(api::Source::events, body);
        break;
    case 2:
        read_suppressions(api::SuppressionList::bounces, body);
        break;
    case 3:
        read_suppressions(api::SuppressionList::unsubscribes, body);
        break;
    case 4:
        read_suppressions(api::SuppressionList::complaints, body);
        break;
    default:
        read_date(body);
        break;
    }
    return 0;
}
