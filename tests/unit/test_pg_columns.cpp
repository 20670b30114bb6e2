// A batch's rows as binary array parameters: the bytes array_recv reads
// (one dimension, has-null flag, element type, length, lower bound, then
// each element's length and bytes), NULLs, storable text, and a value out of
// its column's order refused. PostgreSQL itself reads them in the
// integration tests (integration.store and the others that write events).
#include "storage/pg_columns.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_pg_columns {

using leadhook::storage::PgColumn;
using leadhook::storage::PgColumns;
using leadhook::storage::PgParam;
using leadhook::storage::PgType;
using leadhook::storage::unnest_sql;

namespace {

constexpr PgColumn columns[] = {{"id", PgType::int8},    {"name", PgType::text},
                                {"n", PgType::int4},     {"ok", PgType::boolean},
                                {"hash", PgType::bytea}, {"doc", PgType::jsonb}};

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
}

std::string header(std::uint32_t has_null, std::uint32_t oid, std::uint32_t rows) {
    return be32(1) + be32(has_null) + be32(oid) + be32(rows) + be32(1);
}

std::vector<PgParam> two_rows() {
    PgColumns rows(columns);
    rows.int8("id", -2)
        .text("name", "caf\xc3\xa9")
        .int4("n", 7)
        .boolean("ok", true)
        .bytea("hash", std::string("\0\xff", 2))
        .jsonb("doc", "{}")
        .end_row();
    rows.int8("id", std::nullopt)
        .text("name", "")
        .int4("n", -1)
        .boolean("ok", false)
        .bytea("hash", "")
        .jsonb("doc", "[1]")
        .end_row();
    BOOST_TEST(rows.rows() == 2U);
    return rows.finish();
}

} // namespace

BOOST_AUTO_TEST_SUITE(pg_columns)

BOOST_AUTO_TEST_CASE(each_column_is_one_binary_array_as_array_recv_reads_it) {
    const auto params = two_rows();
    BOOST_REQUIRE(params.size() == 6U);
    for (const PgParam& param : params) {
        BOOST_TEST(param.binary);
        BOOST_REQUIRE(param.value.has_value());
    }
    BOOST_TEST(*params[0].value ==
               header(1, 20, 2) + be32(8) + be32(0xFFFFFFFF) + be32(0xFFFFFFFE) + be32(0xFFFFFFFF));
    BOOST_TEST(*params[1].value == header(1, 25, 2) + be32(5) + "caf\xc3\xa9" + be32(0xFFFFFFFF));
    BOOST_TEST(*params[2].value ==
               header(0, 23, 2) + be32(4) + be32(7) + be32(4) + be32(0xFFFFFFFF));
    BOOST_TEST(*params[3].value ==
               header(0, 16, 2) + be32(1) + std::string(1, '\1') + be32(1) + std::string(1, '\0'));
    BOOST_TEST(*params[4].value == header(0, 17, 2) + be32(2) + std::string("\0\xff", 2) + be32(0));
    BOOST_TEST(*params[5].value == header(0, 3802, 2) + be32(3) + "\1{}" + be32(4) + "\1[1]");
}

BOOST_AUTO_TEST_CASE(text_is_made_storable) {
    constexpr PgColumn one[] = {{"t", PgType::text}};
    PgColumns rows(one);
    rows.text("t", std::string("a\0b\xff\xc3", 5)).end_row();
    const std::string replacement = "\xef\xbf\xbd";
    const std::string stored = "a" + replacement + "b" + replacement + replacement;
    BOOST_TEST(*rows.finish()[0].value ==
               header(0, 25, 1) + be32(static_cast<std::uint32_t>(stored.size())) + stored);
}

BOOST_AUTO_TEST_CASE(finish_leaves_an_empty_writer) {
    constexpr PgColumn one[] = {{"t", PgType::text}};
    PgColumns rows(one);
    rows.text("t", "x").end_row();
    (void)rows.finish();
    BOOST_TEST(rows.empty());
    BOOST_TEST(*rows.finish()[0].value == header(0, 25, 0));
}

BOOST_AUTO_TEST_CASE(a_value_out_of_order_or_a_short_row_is_refused) {
    PgColumns rows(columns);
    BOOST_CHECK_THROW(rows.text("name", "x"), std::logic_error);
    PgColumns typed(columns);
    BOOST_CHECK_THROW(typed.int4("id", 1), std::logic_error);
    PgColumns short_row(columns);
    short_row.int8("id", 1);
    BOOST_CHECK_THROW(short_row.end_row(), std::logic_error);
    BOOST_CHECK_THROW((void)short_row.finish(), std::logic_error);
}

BOOST_AUTO_TEST_CASE(the_statement_reads_the_same_columns) {
    BOOST_TEST(unnest_sql(columns, "r") ==
               "unnest($1::bigint[], $2::text[], $3::integer[], $4::boolean[], $5::bytea[],"
               " $6::jsonb[]) AS r(id, name, n, ok, hash, doc)");
    BOOST_TEST(unnest_sql(std::span(columns).first(2), "k") ==
               "unnest($1::bigint[], $2::text[]) AS k(id, name)");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_pg_columns
