// `leadhook backfill`: events Mailgun still holds, stored as if their
// webhooks had arrived (app/backfill), the reconciliation report
// (--dry-run), and Mailgun's suppression lists (--suppressions). This file
// wires options, the key file, libcurl, PostgreSQL, signals and output.
#include "app/backfill.hpp"
#include "cli/backfill_options.hpp"
#include "cli/commands.hpp"
#include "cli/migrate.hpp"
#include "net/curl_transport.hpp"
#include "report/format.hpp"
#include "storage/pg_backfill.hpp"
#include "util/rfc3339.hpp"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

namespace leadhook::cli {
namespace {

namespace backfill_exit {
constexpr int failed = 1; ///< the API or the database
constexpr int usage = 2;  ///< options, configuration, a refused key
constexpr int interrupted = 130;
} // namespace backfill_exit

std::atomic<bool> stop_requested{false};

/// The first interrupt stops after the current page; a second one now.
extern "C" void on_interrupt(int) {
    if (stop_requested.exchange(true)) {
        _exit(backfill_exit::interrupted);
    }
    constexpr char said[] =
        "\nleadhook backfill: stopping after the current page (interrupt again to quit now)\n";
    (void)!write(STDERR_FILENO, said, sizeof said - 1);
}

bool install_interrupt_handlers() {
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    return sigaction(SIGINT, &action, nullptr) == 0 && sigaction(SIGTERM, &action, nullptr) == 0;
}

/// Sleeps in short steps so that an interrupt is noticed within 100 ms.
bool interruptible_sleep(EpochMicros micros) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(micros);
    while (std::chrono::steady_clock::now() < until) {
        if (stop_requested.load()) {
            return false;
        }
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(100), until - std::chrono::steady_clock::now()));
    }
    return !stop_requested.load();
}

/// The progress line, redrawn in place on a terminal; nothing otherwise.
class Progress {
  public:
    explicit Progress(EpochMicros started)
        : m_started(started), m_tty(isatty(STDERR_FILENO) == 1) {}

    void page(const storage::BackfillCounts& c, EpochMicros now, bool dry_run) {
        if (!m_tty) {
            return;
        }
        const double seconds = std::max<double>(1e-3, static_cast<double>(now - m_started) / 1e6);
        if (dry_run) {
            std::fprintf(stderr, "\rbackfill: pages=%lld fetched=%lld skipped=%lld (%.0f/s)   ",
                         c.pages, c.fetched, c.skipped, static_cast<double>(c.fetched) / seconds);
        } else {
            std::fprintf(stderr,
                         "\rbackfill: pages=%lld fetched=%lld stored=%lld duplicate=%lld "
                         "skipped=%lld (%.0f/s)   ",
                         c.pages, c.fetched, c.stored, c.duplicate, c.skipped,
                         static_cast<double>(c.fetched) / seconds);
        }
        m_drawn = true;
    }

    /// Ends the redrawn line before anything else is written to stderr.
    void finish_line() {
        if (m_drawn) {
            std::fputc('\n', stderr);
            m_drawn = false;
        }
    }

  private:
    EpochMicros m_started;
    bool m_tty;
    bool m_drawn = false;
};

int exit_for(app::BackfillEnd end) {
    switch (end) {
    case app::BackfillEnd::complete:
        return 0;
    case app::BackfillEnd::interrupted:
        return backfill_exit::interrupted;
    case app::BackfillEnd::refused:
        return backfill_exit::usage;
    case app::BackfillEnd::failed:
        return backfill_exit::failed;
    }
    return backfill_exit::failed;
}

report::Table reconcile_table(const std::vector<app::ReconcileRow>& rows) {
    report::Table table{"reconcile",
                        {{"day"},
                         {"event_type"},
                         {"mailgun", report::Align::right},
                         {"leadhook", report::Align::right},
                         {"missing", report::Align::right}},
                        {}};
    for (const auto& row : rows) {
        table.rows.push_back({row.day, row.event_type, row.mailgun, row.leadhook, row.missing});
    }
    return table;
}

int run_dry_run(const BackfillPlan& plan, app::MailgunReader& reader,
                storage::PgBackfillStore& store, Progress& progress, const Clock& clock) {
    auto result = app::reconcile(
        plan.request, reader, store, stop_requested,
        [&](const storage::BackfillCounts& c) { progress.page(c, clock.now(), /*dry_run=*/true); });
    progress.finish_line();
    if (!result) {
        std::fprintf(stderr, "leadhook backfill: %s\n", result.error().message.c_str());
        return exit_for(app::end_of(result.error().kind));
    }
    report::Filters applied;
    applied.range = {plan.request.range.begin, plan.request.range.end};
    applied.domain = plan.request.domain;
    const std::string out = report::render(plan.format, reconcile_table(result->rows), applied);
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
        std::perror("leadhook backfill: stdout");
        return backfill_exit::failed;
    }
    long long missing = 0;
    for (const auto& row : result->rows) {
        missing += row.missing;
    }
    std::fprintf(stderr,
                 "backfill: dry run: fetched=%lld skipped=%lld missing=%lld (nothing "
                 "written)\n",
                 result->counts.fetched, result->counts.skipped, missing);
    return 0;
}

int run_backfill(const BackfillPlan& plan, app::MailgunReader& reader,
                 storage::PgBackfillStore& store, Progress& progress, const Clock& clock) {
    const auto outcome = app::backfill(plan.request, reader, store, clock, stop_requested,
                                       [&](const storage::BackfillCounts& c) {
                                           progress.page(c, clock.now(), /*dry_run=*/false);
                                       });
    progress.finish_line();
    const auto& c = outcome.counts;
    std::printf("backfill: fetched=%lld stored=%lld duplicate=%lld skipped=%lld\n", c.fetched,
                c.stored, c.duplicate, c.skipped);
    std::fflush(stdout);
    const std::string range =
        format_rfc3339(outcome.key.begin) + " to " + format_rfc3339(outcome.key.end);
    if (outcome.end == app::BackfillEnd::complete) {
        std::fprintf(stderr, "leadhook backfill: %s (%s API) %s: complete, %lld pages\n",
                     plan.request.domain.c_str(), outcome.key.api.c_str(), range.c_str(), c.pages);
        if (!outcome.message.empty()) {
            std::fprintf(stderr,
                         "leadhook backfill: warning: %s (such events are counted as "
                         "skipped)\n",
                         outcome.message.c_str());
        }
    } else {
        const bool resumable = outcome.end != app::BackfillEnd::refused;
        std::fprintf(stderr, "leadhook backfill: %s%s\n", outcome.message.c_str(),
                     resumable ? "; every page before it is stored: run the same command with "
                                 "--resume to continue"
                               : "");
    }
    return exit_for(outcome.end);
}

int run_suppressions(const BackfillPlan& plan, app::MailgunReader& reader,
                     storage::PgBackfillStore& store, const Clock& clock) {
    auto imported =
        app::import_suppression_lists(plan.request.domain, reader, store, clock, stop_requested);
    if (!imported) {
        std::fprintf(stderr, "leadhook backfill: suppression lists: %s\n",
                     imported.error().message.c_str());
        return exit_for(app::end_of(imported.error().kind));
    }
    for (const auto& [list, n] : *imported) {
        std::printf("suppressions: %s fetched=%lld added=%lld known=%lld skipped=%lld\n",
                    list.c_str(), n.fetched, n.added, n.unchanged, n.skipped);
    }
    std::fflush(stdout);
    return 0;
}

} // namespace

std::function<int()> backfill_command(CLI::App& command) {
    auto options = std::make_shared<BackfillOptions>();
    add_backfill_options(command, *options);
    return [options]() -> int {
        const Clock& clock = storage::wall_clock();
        auto plan = plan_backfill(*options, clock.now());
        if (!plan) {
            std::fprintf(stderr, "leadhook backfill: %s\n", plan.error().c_str());
            return backfill_exit::usage;
        }
        auto url = database_url_only(options->config_path);
        if (!url) {
            std::fprintf(stderr, "leadhook backfill: invalid configuration: %s\n",
                         url.error().c_str());
            return backfill_exit::usage;
        }
        storage::PgBackfillStore store(*url, clock);
        if (auto problem = store.check_schema()) {
            std::fprintf(stderr, "leadhook backfill: %s\n", problem->c_str());
            return backfill_exit::failed;
        }
        if (!install_interrupt_handlers()) {
            std::perror("leadhook backfill: sigaction");
            return backfill_exit::failed;
        }
        net::CurlTransport transport(std::string("leadhook/") + LEADHOOK_VERSION);
        Progress progress(clock.now());
        app::MailgunReader reader(transport, plan->api_key, plan->base, clock, &interruptible_sleep,
                                  [&progress](const std::string& why, EpochMicros) {
                                      progress.finish_line();
                                      std::fprintf(stderr, "leadhook backfill: %s\n", why.c_str());
                                  });
        int rc = 0;
        if (plan->events) {
            rc = plan->dry_run ? run_dry_run(*plan, reader, store, progress, clock)
                               : run_backfill(*plan, reader, store, progress, clock);
        }
        if (rc == 0 && plan->suppressions) {
            rc = run_suppressions(*plan, reader, store, clock);
        }
        return rc;
    };
}

} // namespace leadhook::cli
