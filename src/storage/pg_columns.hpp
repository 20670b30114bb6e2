#pragma once
// A batch's rows as parameters PostgreSQL does not have to parse: one
// binary array per column, read by `unnest($1::int4[], $2::text[], ...)`.
// Each value crosses as its own bytes (no JSON document around it to lex,
// no keys to sort and look up per row, nothing escaped); only a jsonb
// column's values are JSON text, which the server parses as jsonb.
// Strings are made storable on the way (to_storable_utf8's rule).
#include "storage/pg_param.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook::storage {

enum class PgType { boolean, int4, int8, text, bytea, jsonb };

/// A column of a statement's rows: its name there, and its type.
struct PgColumn {
    std::string_view name;
    PgType type;
};

/// `unnest($1::type[], ...) AS alias(name, ...)` for these columns: the
/// statement's text and PgColumns come from the same list.
std::string unnest_sql(std::span<const PgColumn> columns, std::string_view alias);

/// Writes rows column by column, in the list's order; each value names its
/// column, and a name or type out of order throws std::logic_error (a bug
/// that would otherwise store a value in the wrong column).
class PgColumns {
  public:
    explicit PgColumns(std::span<const PgColumn> columns);

    PgColumns& boolean(std::string_view name, bool value);
    PgColumns& int4(std::string_view name, std::int32_t value);
    PgColumns& int8(std::string_view name, std::optional<std::int64_t> value);
    /// NULL when empty.
    PgColumns& text(std::string_view name, std::string_view value);
    PgColumns& bytea(std::string_view name, std::string_view bytes);
    /// `json` is JSON text already storable (JsonbText's output).
    PgColumns& jsonb(std::string_view name, std::string_view json);
    /// Ends a row; throws std::logic_error unless every column has a value.
    void end_row();

    std::size_t rows() const { return m_rows; }
    bool empty() const { return m_rows == 0; }
    /// One binary array parameter per column, in order. The writer is
    /// empty afterwards.
    std::vector<PgParam> finish();

  private:
    /// The current column's array, once `name` and `type` are checked.
    std::string& next(std::string_view name, PgType type);
    void null(std::string_view name, PgType type);

    std::span<const PgColumn> m_columns;
    std::vector<std::string> m_arrays; ///< each: header space, then elements
    std::vector<bool> m_has_null;
    std::size_t m_next = 0;
    std::size_t m_rows = 0;
};

} // namespace leadhook::storage
