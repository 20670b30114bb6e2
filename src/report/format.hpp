#pragma once
// Writing a report table out: an aligned text table for the terminal, CSV
// (RFC 4180) and JSON. Pure string building; the caller picks the stream.
#include "report/table.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace leadhook::report {

enum class Format { table, csv, json };

/// "table", "csv" or "json"; nullopt for anything else.
std::optional<Format> parse_format(std::string_view name);

/// Columns two spaces apart, padded to their widest cell (counted in
/// characters, not bytes), numbers right-aligned, a dashed rule under the
/// header and "(N rows)" last. Yes/no as "yes"/"no", instants as
/// "YYYY-MM-DD hh:mm" UTC. Control characters show as "?" so that stored
/// text cannot drive the terminal.
std::string render_text(const Table& table);

/// A header line, then one line per row, CRLF-terminated. A field holding a
/// comma, a double quote, CR or LF is quoted, its quotes doubled. Yes/no as
/// true/false, instants as RFC 3339 UTC, no value as an empty field.
std::string render_csv(const Table& table);

/// {"report", "from", "to", "status", "domain", "rows": [{column: value}]}:
/// the filters that applied (days as YYYY-MM-DD, `to` excluded; null when
/// not set) and one object per row, keys in column order. Numbers and
/// yes/no as JSON numbers and booleans, instants as RFC 3339 UTC strings,
/// no value as null. Ends with a newline.
std::string render_json(const Table& table, const Filters& applied);

/// One of the three, by format.
std::string render(Format format, const Table& table, const Filters& applied);

} // namespace leadhook::report
