#pragma once
// libpq, owned. Every PGconn and PGresult belongs to a unique_ptr from the
// line that creates it; every failure comes back as a classified StoreError.
#include "storage/event_store.hpp"
#include "storage/pg_param.hpp"
#include "util/backoff.hpp"

#include <libpq-fe.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
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

/// A statement prepared once per connection under its name, then only
/// executed: no parsing or planning per call. Names are fixed and unique.
struct PgStatement {
    const char* name;
    const char* sql;
};

/// The wall clock PgConnection uses unless given another (tests inject one).
const Clock& wall_clock();

/// What the server says outside a statement's result: a NOTICE or WARNING,
/// or the FATAL a server sends an idle connection before closing it.
struct ServerNotice {
    std::string_view severity; ///< not localised: NOTICE, WARNING, FATAL, ...
    std::string_view sqlstate;
    std::string_view message; ///< the primary message only (DETAIL may quote values)
};
using NoticeHandler = std::function<void(const ServerNotice&)>;

/// Connections made from now on report server notices here rather than as
/// raw lines on stderr (libpq's default); an empty handler restores that.
/// Set it before any connection is made and after the last is gone: it is
/// read without a lock.
void set_notice_handler(NoticeHandler handler);

/// One connection, used by one worker thread at a time. It connects lazily
/// and is dropped when libpq says it broke, so the next request reconnects.
/// After failed connects it backs off (see Backoff): while it waits,
/// ensure_connected() answers "unavailable" without trying, so a database
/// that is down or unreachable costs a request nothing and is not hammered.
class PgConnection {
  public:
    explicit PgConnection(std::string conninfo, const Clock& clock = wall_clock());

    /// Connects if not connected. nullopt on success; unavailable at once
    /// while backing off after failed connects.
    std::optional<StoreError> ensure_connected();
    bool is_connected() const { return m_conn != nullptr; }
    /// Connected, and not inside a transaction block.
    bool is_idle() const;
    void drop() noexcept {
        m_conn.reset();
        m_prepared.clear();
    }

    Expected<PgResult, StoreError> exec(const char* sql, std::span<const PgParam> params = {});
    /// Prepares the statement on this connection the first time, then executes it.
    Expected<PgResult, StoreError> exec(const PgStatement& statement,
                                        std::span<const PgParam> params);

    /// One round trip for up to three statements (libpq's pipeline mode):
    /// `before` (a command without parameters, or nullptr), the statement,
    /// then `after` (likewise). Returns the statement's result, or the
    /// first error; once one fails, the server skips the rest, so an
    /// `after` of "COMMIT" runs only when the statement succeeded. A
    /// transaction block left open by an error is the caller's to roll back.
    Expected<PgResult, StoreError> exec_between(const char* before, const PgStatement& statement,
                                                std::span<const PgParam> params, const char* after);

    /// Runs a script of several statements with no parameters (PQexec):
    /// only for the schema migrations embedded at build time, never for
    /// anything built from input. The error carries the server's HINT.
    std::optional<StoreError> exec_script(const std::string& sql);

    /// Successful connects after a lost connection or a failed connect.
    /// Safe to read from any thread.
    std::uint64_t reconnects() const { return m_reconnects.load(std::memory_order_relaxed); }

    /// WARNINGs (or worse) the server has sent this connection outside a
    /// statement's result. A COMMIT that succeeds with a warning is not
    /// acknowledged: PostgreSQL warns so when it gave up waiting for the
    /// synchronous standby, and the commit may be lost in a failover.
    std::uint64_t warnings() const { return m_warnings; }
    /// The last connect reached only read-only servers (standbys), which
    /// target_session_attrs=read-write refuses: no writable primary.
    bool found_only_standbys() const { return m_found_only_standbys; }

  private:
    StoreError failure(const PGresult* result);
    std::optional<StoreError> prepare_once(const PgStatement& statement);
    /// Reads a pipeline's results up to its sync point: the one at
    /// `wanted` (0-based among the commands sent), or the first error.
    Expected<PgResult, StoreError> read_pipeline(int commands, int wanted);
    StoreError backing_off(EpochMicros now) const;
    Expected<PgConnPtr, StoreError> connect();

    std::string m_conninfo;
    const Clock& m_clock;
    PgConnPtr m_conn;
    std::set<std::string, std::less<>> m_prepared; ///< statement names prepared on m_conn
    Backoff m_backoff;
    static void receive_notice(void* self, const PGresult* result);

    std::string m_last_connect_error; ///< why the last connect failed, for the log
    bool m_found_only_standbys = false;
    std::uint64_t m_warnings = 0;
    bool m_attempted = false; ///< a connect was tried before: the next success is a reconnect
    std::minstd_rand m_jitter;
    std::atomic<std::uint64_t> m_reconnects{0};
};

} // namespace leadhook::storage
