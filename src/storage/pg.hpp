#pragma once
// libpq, owned. Every PGconn and PGresult belongs to a unique_ptr from the
// line that creates it; every failure comes back as a classified StoreError.
#include "storage/event_store.hpp"

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace leadhook::storage {

struct PgConnCloser {
    void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
};
struct PgResultClearer {
    void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnCloser>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultClearer>;

/// A query parameter: nullopt is SQL NULL.
using PgParam = std::optional<std::string>;

class PgResult {
  public:
    explicit PgResult(PgResultPtr result) : m_result(std::move(result)) {}
    int rows() const { return PQntuples(m_result.get()); }
    bool is_null(int row, int col) const { return PQgetisnull(m_result.get(), row, col) != 0; }
    /// Rows an INSERT, UPDATE or DELETE touched.
    long long affected() const {
        const char* n = PQcmdTuples(m_result.get());
        return n && *n ? std::stoll(n) : 0;
    }
    std::string_view text(int row, int col) const {
        return {PQgetvalue(m_result.get(), row, col),
                static_cast<std::size_t>(PQgetlength(m_result.get(), row, col))};
    }

  private:
    PgResultPtr m_result;
};

/// One connection, used by one worker thread at a time. It connects lazily
/// and is dropped when libpq says it broke, so the next request reconnects.
class PgConnection {
  public:
    explicit PgConnection(std::string conninfo) : m_conninfo(std::move(conninfo)) {}

    /// Connects if not connected. nullopt on success.
    std::optional<StoreError> ensure_connected();
    bool is_connected() const { return m_conn != nullptr; }
    void drop() noexcept { m_conn.reset(); }

    Expected<PgResult, StoreError> exec(const char* sql, std::span<const PgParam> params = {});

  private:
    StoreError failure(const PGresult* result);

    std::string m_conninfo;
    PgConnPtr m_conn;
};

} // namespace leadhook::storage
