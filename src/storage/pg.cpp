#include "storage/pg.hpp"

#include "storage/sqlstate.hpp"

#include <vector>

namespace leadhook::storage {
namespace {

std::string trimmed(const char* message) {
    std::string text = message ? message : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

} // namespace

std::optional<StoreError> PgConnection::ensure_connected() {
    if (m_conn && PQstatus(m_conn.get()) == CONNECTION_OK) {
        return std::nullopt;
    }
    // Our defaults come first so that anything in the configured conninfo
    // (expanded from "dbname") overrides them.
    const char* keywords[] = {"connect_timeout", "options", "fallback_application_name", "dbname",
                              nullptr};
    const char* values[] = {"5", "-c statement_timeout=15000", "leadhook", m_conninfo.c_str(),
                            nullptr};
    PgConnPtr conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
    if (!conn) {
        return StoreError{StoreFailure::unavailable, "", "libpq could not allocate a connection"};
    }
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        return StoreError{StoreFailure::unavailable, "",
                          "connect: " + trimmed(PQerrorMessage(conn.get()))};
    }
    m_conn = std::move(conn);
    return std::nullopt;
}

StoreError PgConnection::failure(const PGresult* result) {
    const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    // The primary message only: DETAIL can quote row values, which may be tokens.
    const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    StoreError error{classify_sqlstate(state ? state : ""), state ? state : "",
                     trimmed(primary ? primary : PQerrorMessage(m_conn.get()))};
    if (PQstatus(m_conn.get()) != CONNECTION_OK) {
        error.kind = StoreFailure::unavailable;
        drop();
    }
    return error;
}

Expected<PgResult, StoreError> PgConnection::exec(const char* sql,
                                                  std::span<const PgParam> params) {
    if (!m_conn) {
        return unexpected(StoreError{StoreFailure::unavailable, "", "not connected"});
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& param : params) {
        values.push_back(param ? param->c_str() : nullptr);
    }
    PgResultPtr result(PQexecParams(m_conn.get(), sql, static_cast<int>(values.size()), nullptr,
                                    values.data(), nullptr, nullptr, /*resultFormat=*/0));
    const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        return unexpected(failure(result.get()));
    }
    return PgResult(std::move(result));
}

} // namespace leadhook::storage
