#include "cli/backfill_options.hpp"

#include "util/rfc3339.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdlib>
#include <fstream>

namespace leadhook::cli {
namespace {

constexpr const char* backfill_footer = R"(
TIME is RFC 3339 with an offset (2026-12-01T00:00:00Z) or Unix seconds;
DURATION is a number and s, m, h or d (6h, 2d). The range is [begin, end);
end defaults to now. Mailgun keeps events 1 to 30 days, by plan.

Without --dry-run every event of the range is stored as its webhook would
have been: same duplicate rules (a second copy changes nothing), same lead
rules, and recorded with source 'api'. A checkpoint is kept after every page:
--resume continues the same domain, API and begin (and end, or else the
newest interrupted range). An interrupt (Ctrl-C, SIGTERM) stops after the
current page is stored; a second one stops at once.

--dry-run writes nothing and prints, per UTC day and event type, how many
events Mailgun has, how many leadhook holds and the difference.

--suppressions imports the domain's bounce, complaint and unsubscribe lists
into leadhook's suppression list (`leadhook report suppress`); alone, or
after the events when a range is given.

The API key is the first line of --api-key-file that is not empty or a #
comment. It is sent only to
--api-base (default https://api.mailgun.net; EU domains:
https://api.eu.mailgun.net). Proxies: https_proxy, no_proxy (libcurl's).

Output: on a terminal a progress line on stderr; always the summary line
"backfill: fetched=N stored=S duplicate=D skipped=K" on stdout (--dry-run:
the table on stdout, the summary on stderr).
Exit status: 0 done; 1 the API or the database failed (--resume continues);
2 usage, configuration, or Mailgun refused the key (401/403); 130
interrupted after a stored page (--resume continues).
)";

std::string trimmed(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

Expected<std::string, std::string> read_api_key(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        return unexpected("--api-key-file: cannot read " + path);
    }
    std::string line;
    while (std::getline(in, line)) {
        if (auto key = trimmed(line); !key.empty() && key[0] != '#') {
            return key;
        }
    }
    return unexpected("--api-key-file: " + path +
                      " holds no key (its first line that is not "
                      "empty or a # comment is the key)");
}

/// https anywhere; plain http only to this machine (tests, a local proxy):
/// the key travels in every request.
std::optional<std::string> base_problem(const std::string& base) {
    if (base.rfind("https://", 0) == 0) {
        return std::nullopt;
    }
    for (const char* local : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
        const std::string prefix(local);
        if (base.rfind(prefix, 0) == 0 &&
            (base.size() == prefix.size() || base[prefix.size()] == ':' ||
             base[prefix.size()] == '/')) {
            return std::nullopt;
        }
    }
    return "--api-base: " + base +
           " is not https:// (plain http is allowed only to 127.0.0.1, "
           "localhost or [::1]: the API key goes with every request)";
}

Expected<mailgun::api::Range, std::string> range_of(const BackfillOptions& o, EpochMicros now) {
    mailgun::api::Range range;
    if (o.begin) {
        const auto begin = parse_backfill_time(*o.begin);
        if (!begin) {
            return unexpected("--begin: '" + *o.begin +
                              "' is not RFC 3339 with an offset "
                              "(2026-12-01T00:00:00Z) or Unix seconds");
        }
        range.begin = *begin;
    } else {
        const auto since = parse_duration(*o.since);
        if (!since || *since <= 0) {
            return unexpected("--since: '" + *o.since + "' is not a duration (6h, 90m, 2d)");
        }
        range.begin = now - *since;
    }
    range.begin -= range.begin % 1'000'000; // Mailgun's ranges are whole seconds
    if (o.end) {
        const auto end = parse_backfill_time(*o.end);
        if (!end) {
            return unexpected("--end: '" + *o.end +
                              "' is not RFC 3339 with an offset or Unix "
                              "seconds");
        }
        range.end = *end;
    } else if (!o.resume) {
        range.end = now;
    }
    if (range.end != 0) {
        range.end += (1'000'000 - range.end % 1'000'000) % 1'000'000;
        if (range.end <= range.begin) {
            return unexpected(std::string("--end must come after the beginning of the range"));
        }
    }
    return range;
}

} // namespace

std::optional<EpochMicros> parse_backfill_time(std::string_view text) {
    if (auto t = parse_epoch_seconds(text)) {
        return t;
    }
    return parse_rfc3339(text);
}

std::optional<EpochMicros> parse_duration(std::string_view text) {
    if (text.size() < 2) {
        return std::nullopt;
    }
    long long n = 0;
    const auto digits = text.substr(0, text.size() - 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc{} || end != digits.data() + digits.size() || n < 0 || n > 100'000) {
        return std::nullopt;
    }
    switch (text.back()) {
    case 's':
        return n * 1'000'000;
    case 'm':
        return n * 60'000'000;
    case 'h':
        return n * 3'600'000'000;
    case 'd':
        return n * 86'400'000'000;
    default:
        return std::nullopt;
    }
}

void add_backfill_options(CLI::App& command, BackfillOptions& o) {
    command.add_option("--domain", o.domain, "The sending domain whose events to fetch")
        ->required()
        ->type_name("DOMAIN");
    command
        .add_option("--api-key-file", o.api_key_file,
                    "A file whose first line is the "
                    "Mailgun API key (not the webhook "
                    "signing key)")
        ->required()
        ->type_name("FILE");
    command.add_option("--begin", o.begin, "Start of the range")->type_name("TIME");
    command.add_option("--since", o.since, "Start of the range, this long before now")
        ->type_name("DURATION")
        ->excludes("--begin");
    command.add_option("--end", o.end, "End of the range, excluded (default: now)")
        ->type_name("TIME");
    command
        .add_option("--api", o.api,
                    "logs (Mailgun's Logs API, the default) or events (the "
                    "older Events API)")
        ->type_name("logs|events");
    command.add_option("--api-base", o.api_base, "Mailgun's API (default https://api.mailgun.net)")
        ->envname("LEADHOOK_MAILGUN_API_BASE")
        ->type_name("URL");
    command.add_flag("-n,--dry-run", o.dry_run,
                     "Write nothing: compare Mailgun's events with leadhook's per day and type");
    command.add_option("--format", o.format, "The --dry-run table's format")
        ->type_name("table|csv|json");
    command.add_flag("--resume", o.resume, "Continue an interrupted backfill from its checkpoint");
    command.add_flag("--suppressions", o.suppressions,
                     "Import the domain's bounce, complaint and unsubscribe lists");
    command.add_option("-c,--config", o.config_path, "TOML config file (database_url)")
        ->envname("LEADHOOK_CONFIG")
        ->check(CLI::ExistingFile);
    command.footer(backfill_footer);
}

Expected<BackfillPlan, std::string> plan_backfill(const BackfillOptions& o, EpochMicros now) {
    BackfillPlan plan;
    plan.events = o.begin || o.since || o.resume;
    plan.dry_run = o.dry_run;
    plan.suppressions = o.suppressions;
    if (!plan.events && !plan.suppressions) {
        return unexpected(std::string("give a range (--begin TIME or --since DURATION), "
                                      "--resume, or --suppressions"));
    }
    if (o.resume && !o.begin) {
        return unexpected(std::string("--resume needs the --begin TIME of the range to continue "
                                      "(a --since range moves with the clock)"));
    }
    if (o.dry_run && (o.resume || o.suppressions)) {
        return unexpected(std::string("--dry-run writes nothing: leave out --resume and "
                                      "--suppressions"));
    }
    if (o.domain.empty() || o.domain.find_first_of("/?#% \t") != std::string::npos) {
        return unexpected("--domain: '" + o.domain + "' is not a domain name");
    }
    if (o.api != "logs" && o.api != "events") {
        return unexpected("--api: '" + o.api + "' is neither logs nor events");
    }
    const auto format = report::parse_format(o.format);
    if (!format) {
        return unexpected("--format: unknown format '" + o.format + "' (table, csv or json)");
    }
    if (o.format != "table" && !o.dry_run) {
        return unexpected(std::string("--format is for the --dry-run table"));
    }
    plan.format = *format;
    plan.base = o.api_base.empty() ? std::string(mailgun::api::us_base) : o.api_base;
    if (auto problem = base_problem(plan.base)) {
        return unexpected(*problem);
    }
    auto key = read_api_key(o.api_key_file);
    if (!key) {
        return unexpected(key.error());
    }
    plan.api_key = std::move(key).value();
    plan.request.domain = o.domain;
    plan.request.source =
        o.api == "logs" ? mailgun::api::Source::logs : mailgun::api::Source::events;
    plan.request.resume = o.resume;
    if (plan.events) {
        auto range = range_of(o, now);
        if (!range) {
            return unexpected(range.error());
        }
        plan.request.range = *range;
    }
    return plan;
}

} // namespace leadhook::cli
