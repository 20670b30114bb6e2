#include "report/report.hpp"

#include "util/rfc3339.hpp"

#include <algorithm>
#include <cctype>
#include <span>

namespace leadhook::report {
namespace {

std::string joined(std::span<const std::string_view> names) {
    std::string out;
    for (const auto name : names) {
        out += (out.empty() ? "" : ", ") + std::string(name);
    }
    return out;
}

Expected<std::optional<EpochMicros>, std::string> day_arg(const std::optional<std::string>& text,
                                                          const char* flag) {
    if (!text) {
        return std::optional<EpochMicros>{};
    }
    const auto day = parse_day(*text);
    if (!day) {
        return unexpected(std::string(flag) + ": '" + *text +
                          "' is not a date (YYYY-MM-DD, a UTC day)");
    }
    return std::optional<EpochMicros>(*day);
}

bool is_domain_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x80 || std::isalnum(u) || c == '-' || c == '.' || c == '_';
}

} // namespace

std::size_t event_type_rank(std::string_view type) {
    const auto found = std::find(event_types.begin(), event_types.end(), type);
    return static_cast<std::size_t>(found - event_types.begin());
}

std::optional<EpochMicros> parse_day(std::string_view text) {
    if (text.size() != 10) {
        return std::nullopt;
    }
    return parse_rfc3339(std::string(text) + "T00:00:00Z");
}

std::string format_day(EpochMicros t) {
    return format_rfc3339(start_of_day(t)).substr(0, 10);
}

EpochMicros start_of_day(EpochMicros t) {
    const EpochMicros r = t % micros_per_day;
    return t - (r < 0 ? r + micros_per_day : r);
}

Expected<Filters, std::string> parse_filters(const FilterArgs& args) {
    Filters filters;
    auto from = day_arg(args.from, "--from");
    if (!from) {
        return unexpected(from.error());
    }
    auto to = day_arg(args.to, "--to");
    if (!to) {
        return unexpected(to.error());
    }
    filters.range = {*from, *to};
    if (*from && *to && **from >= **to) {
        return unexpected("--from " + *args.from + " is not before --to " + *args.to +
                          " (--to is the first day left out)");
    }
    if (args.status) {
        if (std::find(lead_statuses.begin(), lead_statuses.end(), *args.status) ==
            lead_statuses.end()) {
            return unexpected("--status: unknown status '" + *args.status +
                              "' (one of: " + joined(lead_statuses) + ")");
        }
        filters.status = *args.status;
    }
    if (args.domain) {
        std::string domain = *args.domain;
        if (domain.empty() || !std::all_of(domain.begin(), domain.end(), is_domain_char)) {
            return unexpected("--domain: '" + domain +
                              "' is not a domain (give the part after the @, e.g. example.com)");
        }
        std::transform(domain.begin(), domain.end(), domain.begin(), [](char c) {
            return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        });
        filters.domain = std::move(domain);
    }
    return filters;
}

DateRange closed_range(const DateRange& range, EpochMicros now, int days) {
    EpochMicros to = range.to.value_or(start_of_day(now) + micros_per_day);
    if (!range.to && range.from && *range.from >= to) {
        to = *range.from + micros_per_day; // a day ahead of today: that day alone
    }
    const EpochMicros from = range.from.value_or(to - days * micros_per_day);
    return {from, to};
}

std::vector<std::string> days_of(const DateRange& closed) {
    std::vector<std::string> days;
    if (!closed.from || !closed.to) {
        return days;
    }
    for (EpochMicros t = start_of_day(*closed.from); t < *closed.to; t += micros_per_day) {
        days.push_back(format_day(t));
    }
    return days;
}

} // namespace leadhook::report
