// `leadhook report`: lead follow-up reports straight from PostgreSQL, for
// the terminal (table), for other programs (CSV, JSON) and as one HTML page.
// Validation, queries and rendering live in report/ and storage/pg_report;
// this file only wires them to the command line, the database and files.
#include "cli/commands.hpp"
#include "cli/migrate.hpp"
#include "config/config.hpp"
#include "report/format.hpp"
#include "report/html.hpp"
#include "storage/pg_report.hpp"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace leadhook::cli {
namespace {

constexpr int exit_database = 1;
constexpr int exit_usage = 2;

struct FileCloser {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

/// What to do, once the options make sense together.
struct Plan {
    std::string kind; ///< empty: only the HTML page
    report::Format format = report::Format::table;
    report::Filters filters;
};

Expected<Plan, std::string> plan_of(const ReportOptions& o) {
    Plan plan{o.kind, report::Format::table, {}};
    if (o.kind.empty() && !o.html) {
        return unexpected(std::string("name a report (leads, daily or suppress) or give --html"));
    }
    if (!o.kind.empty() && o.kind != "leads" && o.kind != "daily" && o.kind != "suppress") {
        return unexpected("unknown report '" + o.kind + "' (leads, daily or suppress)");
    }
    if (o.format) {
        const auto format = report::parse_format(*o.format);
        if (!format) {
            return unexpected("--format: unknown format '" + *o.format + "' (table, csv or json)");
        }
        if (o.kind.empty()) {
            return unexpected(std::string("--format is for a report on stdout: name one (leads, "
                                          "daily or suppress)"));
        }
        plan.format = *format;
    }
    auto filters = report::parse_filters({o.from, o.to, o.status, o.domain});
    if (!filters) {
        return unexpected(filters.error());
    }
    if (filters->status && o.kind != "leads" && !o.html) {
        return unexpected(std::string("--status filters leads: use it with `report leads` or "
                                      "--html"));
    }
    plan.filters = std::move(filters).value();
    return plan;
}

bool write_all(std::FILE* out, const std::string& text) {
    return std::fwrite(text.data(), 1, text.size(), out) == text.size() && std::fflush(out) == 0;
}

int database_failed(const storage::StoreError& error) {
    const std::string state = error.sqlstate.empty() ? "" : " (SQLSTATE " + error.sqlstate + ")";
    std::fprintf(stderr, "leadhook report: database: %s%s\n", error.message.c_str(), state.c_str());
    return exit_database;
}

/// The HTML page to `path`; says where on stderr.
int write_page(storage::PgConnection& conn, const Plan& plan, const std::string& path,
               EpochMicros now) {
    auto page =
        storage::read_page(conn, plan.filters, report::closed_range(plan.filters.range, now));
    if (!page) {
        return database_failed(page.error());
    }
    page->generated_at = now;
    const std::string html = report::render_html(*page);
    std::unique_ptr<std::FILE, FileCloser> out(std::fopen(path.c_str(), "wb"));
    if (!out || !write_all(out.get(), html) || std::fclose(out.release()) != 0) {
        std::fprintf(stderr, "leadhook report: cannot write %s: %s\n", path.c_str(),
                     std::strerror(errno));
        return exit_database;
    }
    long long events = 0;
    for (const auto& count : page->daily) {
        events += count.count;
    }
    std::fprintf(stderr, "leadhook report: wrote %s (%zu leads, %lld events from %s to %s)\n",
                 path.c_str(), page->leads.size(), events,
                 report::format_day(*page->chart_range.from).c_str(),
                 report::format_day(*page->chart_range.to - report::micros_per_day).c_str());
    return 0;
}

/// The named report to stdout.
int print_report(storage::PgConnection& conn, const Plan& plan, EpochMicros now) {
    report::Filters applied = plan.filters;
    std::optional<report::Table> table;
    if (plan.kind == "leads") {
        auto rows = storage::read_leads(conn, applied);
        if (!rows) {
            return database_failed(rows.error());
        }
        table = report::leads_table(*rows);
    } else if (plan.kind == "daily") {
        applied.range = report::closed_range(applied.range, now);
        applied.status.reset();
        auto rows = storage::read_daily(conn, applied);
        if (!rows) {
            return database_failed(rows.error());
        }
        table = report::daily_table(std::move(rows).value());
    } else {
        applied.status.reset();
        auto rows = storage::read_suppress(conn, applied);
        if (!rows) {
            return database_failed(rows.error());
        }
        table = report::suppress_table(*rows);
    }
    if (!write_all(stdout, report::render(plan.format, *table, applied))) {
        std::fprintf(stderr, "leadhook report: cannot write the report: %s\n",
                     std::strerror(errno));
        return exit_database;
    }
    return 0;
}

} // namespace

CLI::App* add_report_command(CLI::App& cli, ReportOptions& o) {
    auto* command = cli.add_subcommand(
        "report", "Lead follow-up reports from PostgreSQL: leads, daily (events per day and "
                  "type) or suppress (addresses never to email again), as a table, CSV or "
                  "JSON; --html writes a page with the daily chart and the lead table");
    command->add_option("report", o.kind, "Which report (may be left out with --html)")
        ->type_name("leads|daily|suppress");
    command
        ->add_option("--from", o.from,
                     "First UTC day included (leads: by follow-up sent date; daily: by event "
                     "time; suppress: by the time since which the address is suppressed). "
                     "Default: all for leads and suppress, 30 days before --to for daily and "
                     "the chart")
        ->type_name("YYYY-MM-DD");
    command
        ->add_option("--to", o.to,
                     "First UTC day left out. Default: none for leads and suppress, tomorrow "
                     "for daily and the chart")
        ->type_name("YYYY-MM-DD");
    command
        ->add_option("--status", o.status,
                     "Leads whose status (newest event) is this: delivered, opened, clicked, "
                     "unsubscribed, complained, bounced, dropped, deferred, rejected, or none "
                     "(no event yet)")
        ->type_name("STATUS");
    command
        ->add_option("--domain", o.domain,
                     "Only addresses at this domain (the part after the @; any case)")
        ->type_name("DOMAIN");
    command->add_option("--format", o.format, "Output on stdout (default: table)")
        ->type_name("table|csv|json");
    command
        ->add_option("--html", o.html,
                     "Write a self-contained HTML page (daily chart and lead table, with these "
                     "filters) to FILE, and say so on stderr")
        ->type_name("FILE");
    command->footer("Exit status: 0 done, 1 database or output error, 2 usage or configuration "
                    "error. Reads only database_url (config file, LEADHOOK_DATABASE_URL or "
                    "--database-url): no signing key is needed. Times are UTC.");
    return command;
}

int report(const std::optional<std::string>& config_path, const ReportOptions& options) {
    auto plan = plan_of(options);
    if (!plan) {
        std::fprintf(stderr, "leadhook report: %s\n", plan.error().c_str());
        return exit_usage;
    }
    auto url = database_url_only(config_path);
    if (!url) {
        std::fprintf(stderr, "leadhook report: invalid configuration: %s\n", url.error().c_str());
        return exit_usage;
    }
    storage::PgConnection conn(*url);
    if (auto error = conn.ensure_connected()) {
        return database_failed(*error);
    }
    const EpochMicros now = storage::wall_clock().now();
    if (options.html) {
        if (const int rc = write_page(conn, *plan, *options.html, now); rc != 0) {
            return rc;
        }
    }
    return plan->kind.empty() ? 0 : print_report(conn, *plan, now);
}

} // namespace leadhook::cli
