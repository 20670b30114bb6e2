#include "storage/pg.hpp"

#include "storage/sqlstate.hpp"

#include <cstdio>
#include <utility>
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

/// libpq's message when the process's uid has no user name. Under systemd's
/// DynamicUser= that means nss-systemd is missing, which nothing else says.
std::string with_connect_hint(std::string message) {
    if (message.find("local user with ID") != std::string::npos) {
        message += " (hint: a DynamicUser= service needs libnss-systemd; see docs/systemd.md)";
    }
    return message;
}

NoticeHandler& notice_handler() {
    static NoticeHandler handler;
    return handler;
}

std::string_view field(const PGresult* result, int code) {
    const char* value = PQresultErrorField(result, code);
    return value ? value : "";
}

/// libpq's messages when every host it reached was read-only: the
/// target_session_attrs check ("session is read-only") or a standby
/// refusing a write ("hot standby").
bool says_read_only(const std::string& message) {
    return message.find("read-only") != std::string::npos ||
           message.find("hot standby") != std::string::npos;
}

bool is_warning_or_worse(std::string_view severity) {
    return severity == "WARNING" || severity == "ERROR" || severity == "FATAL" ||
           severity == "PANIC";
}

} // namespace

/// libpq's notice receiver: a C callback, so nothing may throw out of it.
void PgConnection::receive_notice(void* self, const PGresult* result) {
    const std::string_view severity = field(result, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (is_warning_or_worse(severity)) {
        ++static_cast<PgConnection*>(self)->m_warnings;
    }
    const NoticeHandler& handler = notice_handler();
    if (!handler) {
        std::fputs(PQresultErrorMessage(result), stderr); // libpq's own default
        return;
    }
    handler(ServerNotice{.severity = severity,
                         .sqlstate = field(result, PG_DIAG_SQLSTATE),
                         .message = trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY))});
}

void set_notice_handler(NoticeHandler handler) {
    notice_handler() = std::move(handler);
}

const Clock& wall_clock() {
    static const SystemClock clock;
    return clock;
}

PgConnection::PgConnection(std::string conninfo, const Clock& clock)
    : m_conninfo(std::move(conninfo)), m_clock(clock),
      // Jitter only has to differ between workers, not be unpredictable.
      m_jitter(static_cast<std::uint_fast32_t>(static_cast<std::uint64_t>(clock.now()) ^
                                               reinterpret_cast<std::uintptr_t>(this))) {}

bool PgConnection::is_idle() const {
    return m_conn && PQtransactionStatus(m_conn.get()) == PQTRANS_IDLE;
}

std::optional<StoreError> PgConnection::ensure_connected() {
    if (m_conn && PQstatus(m_conn.get()) == CONNECTION_OK) {
        return std::nullopt;
    }
    drop();
    if (const EpochMicros now = m_clock.now(); !m_backoff.may_try(now)) {
        return backing_off(now);
    }
    auto conn = connect();
    const bool retried = std::exchange(m_attempted, true);
    if (!conn) {
        m_last_connect_error = conn.error().message;
        m_found_only_standbys = says_read_only(m_last_connect_error);
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        m_backoff.failed(m_clock.now(), unit(m_jitter));
        return conn.error();
    }
    m_conn = std::move(conn).value();
    m_found_only_standbys = false;
    m_backoff.succeeded();
    if (retried) {
        m_reconnects.fetch_add(1, std::memory_order_relaxed);
    }
    return std::nullopt;
}

StoreError PgConnection::backing_off(EpochMicros now) const {
    char wait[32];
    std::snprintf(wait, sizeof wait, "%.1f", static_cast<double>(m_backoff.retry_at() - now) / 1e6);
    return StoreError{StoreFailure::unavailable, "",
                      m_last_connect_error + " (" + std::to_string(m_backoff.failures()) +
                          " failed connects; next try in " + wait + " s)"};
}

Expected<PgConnPtr, StoreError> PgConnection::connect() {
    // Our defaults come first so that anything in the configured conninfo
    // (expanded from "dbname") overrides them.
    const char* keywords[] = {"connect_timeout", "options", "fallback_application_name", "dbname",
                              nullptr};
    const char* values[] = {"5", "-c statement_timeout=15000", "leadhook", m_conninfo.c_str(),
                            nullptr};
    PgConnPtr conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
    if (!conn) {
        return unexpected(
            StoreError{StoreFailure::unavailable, "", "libpq could not allocate a connection"});
    }
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        return unexpected(
            StoreError{StoreFailure::unavailable, "",
                       with_connect_hint("connect: " + trimmed(PQerrorMessage(conn.get())))});
    }
    PQsetNoticeReceiver(conn.get(), receive_notice, this);
    return conn;
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
    } else if (error.sqlstate == "25006") {
        // A read-only server: a standby, or a primary demoted under us. A
        // new connection lets target_session_attrs=read-write find the
        // primary; this one never will.
        drop();
    }
    return error;
}

namespace {

/// The parameters as libpq takes them: values, lengths (read only for
/// binary ones) and formats (0 text, 1 binary).
struct WireParams {
    explicit WireParams(std::span<const PgParam> params) {
        values.reserve(params.size());
        lengths.reserve(params.size());
        formats.reserve(params.size());
        for (const auto& param : params) {
            values.push_back(param.value ? param.value->data() : nullptr);
            lengths.push_back(param.value ? static_cast<int>(param.value->size()) : 0);
            formats.push_back(param.binary ? 1 : 0);
        }
    }
    int count() const { return static_cast<int>(values.size()); }

    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
};

bool succeeded(const PgResultPtr& result) {
    const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

} // namespace

std::optional<StoreError> PgConnection::prepare_once(const PgStatement& statement) {
    if (m_prepared.contains(statement.name)) {
        return std::nullopt;
    }
    PgResultPtr prepared(
        PQprepare(m_conn.get(), statement.name, statement.sql, 0, /*paramTypes=*/nullptr));
    if (!succeeded(prepared)) {
        return failure(prepared.get());
    }
    m_prepared.emplace(statement.name);
    return std::nullopt;
}

Expected<PgResult, StoreError> PgConnection::exec(const PgStatement& statement,
                                                  std::span<const PgParam> params) {
    if (!m_conn) {
        return unexpected(StoreError{StoreFailure::unavailable, "", "not connected"});
    }
    if (auto error = prepare_once(statement)) {
        return unexpected(*error);
    }
    const WireParams wire(params);
    PgResultPtr result(PQexecPrepared(m_conn.get(), statement.name, wire.count(),
                                      wire.values.data(), wire.lengths.data(), wire.formats.data(),
                                      /*resultFormat=*/0));
    if (!succeeded(result)) {
        return unexpected(failure(result.get()));
    }
    return PgResult(std::move(result));
}

Expected<PgResult, StoreError> PgConnection::exec_between(const char* before,
                                                          const PgStatement& statement,
                                                          std::span<const PgParam> params,
                                                          const char* after) {
    if (!m_conn) {
        return unexpected(StoreError{StoreFailure::unavailable, "", "not connected"});
    }
    if (auto error = prepare_once(statement)) {
        return unexpected(*error);
    }
    PGconn* conn = m_conn.get();
    if (PQenterPipelineMode(conn) != 1) {
        return unexpected(failure(nullptr));
    }
    const WireParams wire(params);
    auto send_command = [conn](const char* sql) {
        return PQsendQueryParams(conn, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    };
    const bool sent = (!before || send_command(before)) &&
                      PQsendQueryPrepared(conn, statement.name, wire.count(), wire.values.data(),
                                          wire.lengths.data(), wire.formats.data(), 0) == 1 &&
                      (!after || send_command(after)) && PQpipelineSync(conn) == 1;
    if (!sent) {
        // Nothing can be read back reliably: the connection is not reused.
        StoreError error = failure(nullptr);
        drop();
        error.kind = StoreFailure::unavailable;
        return unexpected(error);
    }
    return read_pipeline(1 + (before ? 1 : 0) + (after ? 1 : 0), before ? 1 : 0);
}

Expected<PgResult, StoreError> PgConnection::read_pipeline(int commands, int wanted) {
    PGconn* conn = m_conn.get();
    std::optional<PgResult> kept;
    std::optional<StoreError> error;
    // Each command's results end with a null; the sync point's does not.
    // failure() drops a connection that broke, which ends the reading.
    for (int command = 0; command <= commands && m_conn; ++command) {
        PgResultPtr result(PQgetResult(conn));
        if (!result) {
            if (!error) {
                error = failure(nullptr);
            }
            break;
        }
        const auto status = PQresultStatus(result.get());
        if (status == PGRES_PIPELINE_SYNC) {
            break;
        }
        if (succeeded(result)) {
            if (command == wanted) {
                kept.emplace(std::move(result));
            }
        } else if (!error && status != PGRES_PIPELINE_ABORTED) {
            error = failure(result.get());
        }
        while (m_conn) {
            if (PgResultPtr rest{PQgetResult(conn)}; !rest) {
                break;
            }
        }
    }
    if (m_conn && PQexitPipelineMode(m_conn.get()) != 1) {
        // Results left unread: the connection cannot be trusted any more.
        if (!error) {
            error = failure(nullptr);
        }
        drop();
    }
    if (error) {
        return unexpected(*error);
    }
    if (!kept) {
        return unexpected(StoreError{StoreFailure::internal, "", "pipeline returned no result"});
    }
    return std::move(*kept);
}

Expected<PgResult, StoreError> PgConnection::exec(const char* sql,
                                                  std::span<const PgParam> params) {
    if (!m_conn) {
        return unexpected(StoreError{StoreFailure::unavailable, "", "not connected"});
    }
    const WireParams wire(params);
    PgResultPtr result(PQexecParams(m_conn.get(), sql, wire.count(), /*paramTypes=*/nullptr,
                                    wire.values.data(), wire.lengths.data(), wire.formats.data(),
                                    /*resultFormat=*/0));
    if (!succeeded(result)) {
        return unexpected(failure(result.get()));
    }
    return PgResult(std::move(result));
}

std::optional<StoreError> PgConnection::exec_script(const std::string& sql) {
    if (!m_conn) {
        return StoreError{StoreFailure::unavailable, "", "not connected"};
    }
    PgResultPtr result(PQexec(m_conn.get(), sql.c_str()));
    const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
        return std::nullopt;
    }
    // Our own schema's hints say how to fix what it refused (see 004_...).
    const char* hint = result ? PQresultErrorField(result.get(), PG_DIAG_MESSAGE_HINT) : nullptr;
    StoreError error = failure(result.get());
    if (hint) {
        error.message += " (hint: " + trimmed(hint) + ")";
    }
    return error;
}

} // namespace leadhook::storage
