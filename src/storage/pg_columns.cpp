#include "storage/pg_columns.hpp"

#include "util/utf8.hpp"

#include <array>
#include <stdexcept>

namespace leadhook::storage {
namespace {

// PostgreSQL's type OIDs (pg_type.dat): they never change.
struct TypeInfo {
    std::uint32_t element_oid;
    std::string_view array_sql;
};
TypeInfo info(PgType type) {
    switch (type) {
    case PgType::boolean:
        return {16, "boolean[]"};
    case PgType::int4:
        return {23, "integer[]"};
    case PgType::int8:
        return {20, "bigint[]"};
    case PgType::text:
        return {25, "text[]"};
    case PgType::bytea:
        return {17, "bytea[]"};
    case PgType::jsonb:
        return {3802, "jsonb[]"};
    }
    throw std::logic_error("unknown column type");
}

void put_uint32(char* out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) {
        out[i] = static_cast<char>((value >> (8 * (3 - i))) & 0xFF);
    }
}

void append_uint32(std::string& out, std::uint32_t value) {
    std::array<char, 4> bytes{};
    put_uint32(bytes.data(), value);
    out.append(bytes.data(), bytes.size());
}

void append_uint64(std::string& out, std::uint64_t value) {
    append_uint32(out, static_cast<std::uint32_t>(value >> 32));
    append_uint32(out, static_cast<std::uint32_t>(value));
}

/// array_recv's header for one dimension: ndim, has-null flag, element
/// type, length, lower bound.
constexpr std::size_t header_size = 20;
constexpr std::uint32_t null_length = 0xFFFFFFFF; // -1

/// `value` made storable, appended as a length-prefixed element.
void append_storable(std::string& array, std::string_view value) {
    const std::size_t at = array.size();
    array.append(4, '\0');
    for (std::size_t i = 0; i < value.size();) {
        std::size_t run = i;
        while (run < value.size()) {
            const auto byte = static_cast<unsigned char>(value[run]);
            if (byte != 0 && byte < 0x80) {
                ++run;
                continue;
            }
            const std::size_t length = storable_utf8_length(value, run);
            if (length == 0) {
                break;
            }
            run += length;
        }
        array.append(value.substr(i, run - i));
        if (run < value.size()) {
            array.append(utf8_replacement);
            ++run;
        }
        i = run;
    }
    put_uint32(array.data() + at, static_cast<std::uint32_t>(array.size() - at - 4));
}

} // namespace

std::string unnest_sql(std::span<const PgColumn> columns, std::string_view alias) {
    std::string arrays;
    std::string names;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const std::string_view separator = i == 0 ? "" : ", ";
        arrays.append(separator)
            .append("$")
            .append(std::to_string(i + 1))
            .append("::")
            .append(info(columns[i].type).array_sql);
        names.append(separator).append(columns[i].name);
    }
    return "unnest(" + arrays + ") AS " + std::string(alias) + "(" + names + ")";
}

PgColumns::PgColumns(std::span<const PgColumn> columns)
    : m_columns(columns), m_arrays(columns.size(), std::string(header_size, '\0')),
      m_has_null(columns.size(), false) {}

std::string& PgColumns::next(std::string_view name, PgType type) {
    if (m_next >= m_columns.size() || m_columns[m_next].name != name ||
        m_columns[m_next].type != type) {
        throw std::logic_error("batch column out of order: " + std::string(name));
    }
    return m_arrays[m_next++];
}

void PgColumns::null(std::string_view name, PgType type) {
    m_has_null[m_next] = true;
    append_uint32(next(name, type), null_length);
}

PgColumns& PgColumns::boolean(std::string_view name, bool value) {
    std::string& array = next(name, PgType::boolean);
    append_uint32(array, 1);
    array += value ? '\1' : '\0';
    return *this;
}

PgColumns& PgColumns::int4(std::string_view name, std::int32_t value) {
    std::string& array = next(name, PgType::int4);
    append_uint32(array, 4);
    append_uint32(array, static_cast<std::uint32_t>(value));
    return *this;
}

PgColumns& PgColumns::int8(std::string_view name, std::optional<std::int64_t> value) {
    if (!value) {
        null(name, PgType::int8);
        return *this;
    }
    std::string& array = next(name, PgType::int8);
    append_uint32(array, 8);
    append_uint64(array, static_cast<std::uint64_t>(*value));
    return *this;
}

PgColumns& PgColumns::text(std::string_view name, std::string_view value) {
    if (value.empty()) {
        null(name, PgType::text);
        return *this;
    }
    append_storable(next(name, PgType::text), value);
    return *this;
}

PgColumns& PgColumns::bytea(std::string_view name, std::string_view bytes) {
    std::string& array = next(name, PgType::bytea);
    append_uint32(array, static_cast<std::uint32_t>(bytes.size()));
    array.append(bytes);
    return *this;
}

PgColumns& PgColumns::jsonb(std::string_view name, std::string_view json) {
    std::string& array = next(name, PgType::jsonb);
    append_uint32(array, static_cast<std::uint32_t>(json.size() + 1));
    array += '\1'; // jsonb_recv's format version
    array.append(json);
    return *this;
}

void PgColumns::end_row() {
    if (m_next != m_columns.size()) {
        throw std::logic_error("batch row ends before column " +
                               std::string(m_columns[m_next].name));
    }
    m_next = 0;
    ++m_rows;
}

std::vector<PgParam> PgColumns::finish() {
    if (m_next != 0) {
        throw std::logic_error("batch columns finished inside a row");
    }
    std::vector<PgParam> params;
    params.reserve(m_arrays.size());
    for (std::size_t i = 0; i < m_arrays.size(); ++i) {
        std::string& array = m_arrays[i];
        put_uint32(array.data(), 1); // one dimension, even when empty
        put_uint32(array.data() + 4, m_has_null[i] ? 1 : 0);
        put_uint32(array.data() + 8, info(m_columns[i].type).element_oid);
        put_uint32(array.data() + 12, static_cast<std::uint32_t>(m_rows));
        put_uint32(array.data() + 16, 1); // lower bound
        params.push_back(PgParam::binary_form(std::move(array)));
        array.assign(header_size, '\0');
        m_has_null[i] = false;
    }
    m_rows = 0;
    return params;
}

} // namespace leadhook::storage
