#pragma once
// `leadhook backfill`'s options as typed, and the plan they make once
// checked: which range, which API, the key, what to write.
#include "app/backfill.hpp"
#include "report/format.hpp"

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace leadhook::cli {

struct BackfillOptions {
    std::string domain;
    std::string api_key_file;
    std::optional<std::string> begin, end, since;
    std::string api = "logs";
    std::string api_base;
    std::string format = "table";
    bool dry_run = false;
    bool resume = false;
    bool suppressions = false;
    std::optional<std::string> config_path;
};

struct BackfillPlan {
    app::BackfillRequest request;
    std::string api_key; ///< never printed
    std::string base;
    report::Format format = report::Format::table;
    bool events = false; ///< a time range was given: backfill (or reconcile) events
    bool dry_run = false;
    bool suppressions = false;
};

void add_backfill_options(CLI::App& command, BackfillOptions& options);

/// Checks the options together and reads the key file. The message says
/// what to change (exit 2).
Expected<BackfillPlan, std::string> plan_backfill(const BackfillOptions& options, EpochMicros now);

/// A backfill TIME: RFC 3339 with an offset, or whole Unix seconds.
std::optional<EpochMicros> parse_backfill_time(std::string_view text);

/// A --since DURATION: a whole number and s, m, h or d ("6h", "90m", "2d").
std::optional<EpochMicros> parse_duration(std::string_view text);

} // namespace leadhook::cli
