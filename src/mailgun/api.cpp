#include "mailgun/api.hpp"

#include "body/form.hpp"
#include "mailgun/normalize.hpp"
#include "util/rfc2822.hpp"
#include "util/rfc3339.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace leadhook::mailgun::api {
namespace {

using nlohmann::json;

constexpr int logs_page_limit = 100;    // the Logs API's maximum
constexpr int events_page_limit = 300;  // the Events API's maximum
constexpr int suppression_limit = 1000; // the suppression lists' maximum

std::string trimmed_base(std::string_view base) {
    while (!base.empty() && base.back() == '/') {
        base.remove_suffix(1);
    }
    return std::string(base);
}

std::string lower(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    text = first == std::string_view::npos
               ? std::string_view{}
               : text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

/// "https://Host:443/x?y" -> "https://host:443": scheme, host and port.
/// (Lower-cased and trimmed, like the addresses below.)
std::string origin(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        return {};
    }
    const auto path_start = url.find_first_of("/?#", scheme_end + 3);
    return lower(url.substr(0, path_start));
}

std::optional<std::string> string_at(const json& object, const char* key) {
    if (!object.is_object()) {
        return std::nullopt;
    }
    const auto it = object.find(key);
    if (it == object.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        return std::nullopt;
    }
    return it->get<std::string>();
}

Expected<json, std::string> parse_object(std::string_view body, const char* what) {
    json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) {
        return unexpected(std::string(what) + " answer is not a JSON object");
    }
    return parsed;
}

std::string whole_seconds(EpochMicros t) {
    return std::to_string(t / 1'000'000);
}

std::optional<EpochMicros> any_date(const std::string& text) {
    if (auto t = parse_rfc2822(text)) {
        return t;
    }
    return parse_rfc3339(text);
}

std::string joined(const json& list) {
    std::string out;
    for (const auto& item : list) {
        if (item.is_string()) {
            out += (out.empty() ? "" : ",") + item.get<std::string>();
        }
    }
    return out;
}

/// What a suppression list entry says beyond the address.
std::string detail_of(SuppressionList list, const json& item) {
    if (list == SuppressionList::bounces) {
        std::string code = item.contains("code") && item["code"].is_number()
                               ? item["code"].dump()
                               : string_at(item, "code").value_or("");
        const std::string error = string_at(item, "error").value_or("");
        return code.empty() || error.empty() ? code + error : code + " " + error;
    }
    if (list == SuppressionList::unsubscribes) {
        const std::string tags = item.contains("tags") && item["tags"].is_array()
                                     ? joined(item["tags"])
                                     : string_at(item, "tag").value_or("*");
        return tags == "*" || tags.empty() ? "" : "tags: " + tags; // "*": every message
    }
    return {};
}

} // namespace

std::string_view to_string(Source source) {
    return source == Source::logs ? "logs" : "events";
}

std::string_view to_string(SuppressionList list) {
    switch (list) {
    case SuppressionList::bounces:
        return "bounces";
    case SuppressionList::complaints:
        return "complaints";
    case SuppressionList::unsubscribes:
        return "unsubscribes";
    }
    return "bounces";
}

Call events_call(Source source, std::string_view base, std::string_view domain, Range range,
                 const std::optional<std::string>& cursor) {
    if (source == Source::events) {
        if (cursor) {
            return {"GET", *cursor, {}};
        }
        return {"GET",
                trimmed_base(base) + "/v3/" + body::url_encode(domain) + "/events?begin=" +
                    whole_seconds(range.begin) + "&end=" + whole_seconds(range.end) +
                    "&ascending=yes&limit=" + std::to_string(events_page_limit),
                {}};
    }
    const std::string name(domain);
    json pagination = {{"sort", "timestamp:asc"}, {"limit", logs_page_limit}};
    if (cursor) {
        pagination["token"] = *cursor;
    }
    const json request = {
        {"start", format_rfc2822(range.begin)},
        {"end", format_rfc2822(range.end)},
        {"filter",
         {{"AND", json::array({{{"attribute", "domain"},
                                {"comparator", "="},
                                {"values", json::array({{{"label", name}, {"value", name}}})}}})}}},
        {"pagination", pagination},
    };
    return {"POST", trimmed_base(base) + "/v1/analytics/logs", request.dump()};
}

Expected<EventPage, std::string> parse_event_page(Source source, std::string_view body,
                                                  const std::optional<std::string>& cursor) {
    auto parsed =
        parse_object(body, source == Source::logs ? "the Logs API's" : "the Events API's");
    if (!parsed) {
        return unexpected(parsed.error());
    }
    json& page = *parsed;
    if (!page.contains("items") || !page["items"].is_array()) {
        return unexpected(std::string("the answer has no items list"));
    }
    EventPage out;
    for (auto& item : page["items"]) {
        out.items.push_back(std::move(item));
    }
    if (out.items.empty()) {
        return out; // both APIs: a page without items is the end
    }
    const json* paging = source == Source::logs ? &page["pagination"] : &page["paging"];
    out.next = string_at(*paging, "next");
    if (out.next == cursor) {
        out.next.reset(); // the same page again would loop
    }
    return out;
}

bool same_origin(std::string_view url, std::string_view base) {
    const std::string mine = origin(base);
    return !mine.empty() && origin(url) == mine;
}

bool is_webhook_event(std::string_view mailgun_event) {
    constexpr std::array<std::string_view, 9> names{"accepted",     "rejected",   "delivered",
                                                    "failed",       "opened",     "clicked",
                                                    "unsubscribed", "complained", "stored"};
    return std::find(names.begin(), names.end(), mailgun_event) != names.end();
}

Expected<Event, Unprocessable> normalize_item(const json& item) {
    if (!item.is_object()) {
        return unexpected(Unprocessable{"an item is not a JSON object"});
    }
    json body = {{"event-data", item}};
    json& data = body["event-data"];
    if (auto vars = string_at(data, "user-variables")) { // the Logs API's form
        json parsed = json::parse(*vars, nullptr, /*allow_exceptions=*/false);
        data["user-variables"] = parsed.is_object() ? parsed : json::object();
    }
    const auto logs_time = string_at(data, "@timestamp");
    auto event = normalize_json(std::move(body));
    if (event && !event->event_time && logs_time) {
        event->event_time = parse_rfc3339(*logs_time);
    }
    return event;
}

Call suppression_call(std::string_view base, std::string_view domain, SuppressionList list,
                      const std::optional<std::string>& next_url) {
    if (next_url) {
        return {"GET", *next_url, {}};
    }
    return {"GET",
            trimmed_base(base) + "/v3/" + body::url_encode(domain) + "/" +
                std::string(to_string(list)) + "?limit=" + std::to_string(suppression_limit),
            {}};
}

Expected<SuppressionPage, std::string>
parse_suppression_page(SuppressionList list, std::string_view body,
                       const std::optional<std::string>& fetched) {
    auto parsed = parse_object(body, "the suppression list's");
    if (!parsed) {
        return unexpected(parsed.error());
    }
    const json& page = *parsed;
    if (!page.contains("items") || !page["items"].is_array()) {
        return unexpected(std::string("the answer has no items list"));
    }
    static constexpr std::array<std::string_view, 3> reasons{"bounced", "complained",
                                                             "unsubscribed"};
    SuppressionPage out;
    for (const auto& item : page["items"]) {
        auto address = string_at(item, "address");
        if (!address) {
            ++out.skipped;
            continue;
        }
        const auto created = string_at(item, "created_at");
        out.entries.push_back({lower(*address),
                               std::string(reasons[static_cast<std::size_t>(list)]),
                               detail_of(list, item), created ? any_date(*created) : std::nullopt});
    }
    const json& paging = page.contains("paging") ? page["paging"] : json::object();
    const auto next = string_at(paging, "next");
    if (!page["items"].empty() && next && next != string_at(paging, "last") && next != fetched) {
        out.next = next;
    }
    return out;
}

} // namespace leadhook::mailgun::api
