#include "storage/migrations.hpp"
#include "support.hpp"
#include "util/hex.hpp"
#include "util/sha256.hpp"

#include <boost/test/unit_test.hpp>

#include <array>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_migrations {

using namespace leadhook;
using storage::AppliedMigration;
using storage::Migration;

namespace {

// Two made-up migrations: the planning rules do not depend on the real ones.
const std::array<Migration, 2> two{{
    {1, "001_a.sql", "CREATE TABLE a ();", "aaaa"},
    {2, "002_b.sql", "CREATE TABLE b ();", "bbbb"},
}};

std::string hex_sha256(std::string_view text) {
    const std::string digest = sha256(text);
    return to_hex({reinterpret_cast<const unsigned char*>(digest.data()), digest.size()});
}

std::vector<int> pending_versions(const storage::MigrationPlan& plan) {
    std::vector<int> versions;
    for (const auto* m : plan.pending) {
        versions.push_back(m->version);
    }
    return versions;
}

} // namespace

BOOST_AUTO_TEST_SUITE(migrations)

BOOST_AUTO_TEST_CASE(the_schema_files_are_embedded_in_version_order) {
    const auto embedded = storage::embedded_migrations();
    BOOST_REQUIRE(embedded.size() >= 4);
    for (std::size_t i = 0; i < embedded.size(); ++i) {
        const auto& m = embedded[i];
        BOOST_TEST(m.version == static_cast<int>(i) + 1, m.name); // no gaps so far
        BOOST_TEST(m.name.ends_with(".sql"));
        BOOST_TEST(std::stoi(std::string(m.name)) == m.version);
        BOOST_TEST(!m.sql.empty());
    }
    BOOST_TEST(storage::newest_migration_version() == embedded.back().version);
    BOOST_TEST(embedded[0].name == "001_leads.sql");
}

BOOST_AUTO_TEST_CASE(each_checksum_is_the_sha256_of_the_embedded_bytes) {
    for (const auto& m : storage::embedded_migrations()) {
        BOOST_TEST(m.sha256_hex == hex_sha256(m.sql), m.name);
    }
}

BOOST_AUTO_TEST_CASE(quotes_backslashes_and_dollars_survive_embedding) {
    // 004 holds '...' strings, a DO $$ block and a backslash-free HINT; the
    // bytes must be the file's, which the checksum test above also pins.
    const auto& replay = storage::embedded_migrations()[3];
    BOOST_TEST(test::contains(replay.sql, "DO $$"));
    BOOST_TEST(test::contains(replay.sql, "'lead_email_events holds the same Mailgun event"));
    BOOST_TEST(replay.sql.back() == '\n');
}

BOOST_AUTO_TEST_CASE(an_empty_database_gets_everything) {
    const auto plan = storage::plan_migrations(two, {});
    BOOST_REQUIRE(plan);
    BOOST_TEST(pending_versions(*plan) == (std::vector<int>{1, 2}));
    BOOST_TEST(plan->current_version == 0);
}

BOOST_AUTO_TEST_CASE(only_what_is_missing_is_applied) {
    const std::vector<AppliedMigration> applied{{1, "001_a.sql", "aaaa"}};
    const auto plan = storage::plan_migrations(two, applied);
    BOOST_REQUIRE(plan);
    BOOST_TEST(pending_versions(*plan) == (std::vector<int>{2}));
    BOOST_TEST(plan->current_version == 1);
}

BOOST_AUTO_TEST_CASE(a_gap_is_filled) {
    const std::vector<AppliedMigration> applied{{2, "002_b.sql", "bbbb"}};
    const auto plan = storage::plan_migrations(two, applied);
    BOOST_REQUIRE(plan);
    BOOST_TEST(pending_versions(*plan) == (std::vector<int>{1}));
}

BOOST_AUTO_TEST_CASE(a_current_schema_needs_nothing) {
    const std::vector<AppliedMigration> applied{{1, "001_a.sql", "aaaa"}, {2, "002_b.sql", "bbbb"}};
    const auto plan = storage::plan_migrations(two, applied);
    BOOST_REQUIRE(plan);
    BOOST_TEST(plan->pending.empty());
    BOOST_TEST(plan->current_version == 2);
}

BOOST_AUTO_TEST_CASE(an_edited_migration_is_refused_by_name) {
    const std::vector<AppliedMigration> applied{{1, "001_a.sql", "x"}};
    const auto plan = storage::plan_migrations(two, applied);
    BOOST_REQUIRE(!plan);
    BOOST_TEST(test::contains(plan.error(), "migration 1 (001_a.sql) was changed after it was"));
    BOOST_TEST(test::contains(plan.error(), "aaaa"));
}

BOOST_AUTO_TEST_CASE(a_newer_builds_migrations_are_accepted) {
    const std::vector<AppliedMigration> applied{
        {1, "001_a.sql", "aaaa"}, {2, "002_b.sql", "bbbb"}, {3, "003_c.sql", "cccc"}};
    const auto plan = storage::plan_migrations(two, applied);
    BOOST_REQUIRE(plan);
    BOOST_TEST(plan->pending.empty());
    BOOST_TEST(plan->current_version == 3);
}

BOOST_AUTO_TEST_CASE(a_recorded_version_this_build_lacks_is_refused) {
    const std::array<Migration, 2> one_and_three{{two[0], {3, "003_c.sql", "", "cccc"}}};
    const std::vector<AppliedMigration> applied{{2, "002_b.sql", "bbbb"}};
    const auto plan = storage::plan_migrations(one_and_three, applied);
    BOOST_REQUIRE(!plan);
    BOOST_TEST(test::contains(plan.error(), "migration 2 (002_b.sql), which this build"));
}

BOOST_AUTO_TEST_CASE(readiness_follows_the_recorded_version) {
    const auto missing = storage::schema_readiness(std::nullopt, 4);
    BOOST_TEST(!missing.ready);
    BOOST_TEST(missing.reason == "no migrations table (run leadhook migrate)");
    const auto empty = storage::schema_readiness(0, 4);
    BOOST_TEST(!empty.ready);
    BOOST_TEST(empty.reason == "schema behind: at version 0, this build needs 4 (run leadhook "
                               "migrate)");
    const auto behind = storage::schema_readiness(3, 4);
    BOOST_TEST(!behind.ready);
    BOOST_TEST(behind.reason ==
               "schema behind: at version 3, this build needs 4 (run leadhook migrate)");
    const auto current = storage::schema_readiness(4, 4);
    BOOST_TEST(current.ready);
    BOOST_TEST(current.reason == "ok");
    const auto ahead = storage::schema_readiness(5, 4);
    BOOST_TEST(ahead.ready);
    BOOST_TEST(ahead.reason == "schema ahead: at version 5, this build knows up to 4");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_migrations
