#include "report/format.hpp"

#include "util/rfc3339.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace leadhook::report {
namespace {

template <class... F> struct Overloaded : F... { using F::operator()...; };
template <class... F> Overloaded(F...) -> Overloaded<F...>;

/// Characters in UTF-8 text: every byte that does not continue a sequence.
std::size_t display_width(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

/// C0 controls, DEL and the C1 controls (U+0080..U+009F, a terminal's CSI
/// among them) each become "?".
std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        const bool c1 = c == 0xC2 && i + 1 < text.size() &&
                        static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                        static_cast<unsigned char>(text[i + 1]) <= 0x9F;
        if (c < 0x20 || c == 0x7F || c1) {
            out += '?';
            i += c1 ? 1 : 0;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string text_cell(const Cell& cell) {
    return std::visit(Overloaded{
                          [](std::monostate) { return std::string(); },
                          [](const std::string& s) { return printable(s); },
                          [](long long n) { return std::to_string(n); },
                          [](bool b) { return std::string(b ? "yes" : "no"); },
                          [](Instant t) {
                              auto s = format_rfc3339(t.at);
                              return s.substr(0, 10) + " " + s.substr(11, 5);
                          },
                      },
                      cell);
}

std::string csv_cell(const Cell& cell) {
    std::string value = std::visit(Overloaded{
                                       [](std::monostate) { return std::string(); },
                                       [](const std::string& s) { return s; },
                                       [](long long n) { return std::to_string(n); },
                                       [](bool b) { return std::string(b ? "true" : "false"); },
                                       [](Instant t) { return format_rfc3339(t.at); },
                                   },
                                   cell);
    if (value.find_first_of(",\"\r\n") == std::string::npos) {
        return value;
    }
    std::string quoted = "\"";
    for (const char c : value) {
        quoted += c == '"' ? "\"\"" : std::string(1, c);
    }
    return quoted + "\"";
}

nlohmann::ordered_json json_cell(const Cell& cell) {
    return std::visit(Overloaded{
                          [](std::monostate) { return nlohmann::ordered_json(nullptr); },
                          [](const std::string& s) { return nlohmann::ordered_json(s); },
                          [](long long n) { return nlohmann::ordered_json(n); },
                          [](bool b) { return nlohmann::ordered_json(b); },
                          [](Instant t) { return nlohmann::ordered_json(format_rfc3339(t.at)); },
                      },
                      cell);
}

nlohmann::ordered_json day_or_null(const std::optional<EpochMicros>& t) {
    return t ? nlohmann::ordered_json(format_day(*t)) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json text_or_null(const std::optional<std::string>& s) {
    return s ? nlohmann::ordered_json(*s) : nlohmann::ordered_json(nullptr);
}

void append_padded(std::string& line, const std::string& cell, std::size_t width, Align align) {
    const std::string pad(width - display_width(cell), ' ');
    line += align == Align::right ? pad + cell : cell + pad;
}

} // namespace

std::optional<Format> parse_format(std::string_view name) {
    if (name == "table") {
        return Format::table;
    }
    if (name == "csv") {
        return Format::csv;
    }
    if (name == "json") {
        return Format::json;
    }
    return std::nullopt;
}

std::string render_text(const Table& table) {
    std::vector<std::vector<std::string>> cells;
    std::vector<std::size_t> widths;
    for (const auto& column : table.columns) {
        widths.push_back(display_width(column.name));
    }
    for (const auto& row : table.rows) {
        auto& texts = cells.emplace_back();
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
            texts.push_back(text_cell(row[i]));
            widths[i] = std::max(widths[i], display_width(texts.back()));
        }
    }
    auto line_of = [&](auto cell_at) {
        std::string line;
        for (std::size_t i = 0; i < table.columns.size(); ++i) {
            line += i == 0 ? "" : "  ";
            append_padded(line, cell_at(i), widths[i], table.columns[i].align);
        }
        line.erase(line.find_last_not_of(' ') + 1); // no trailing blanks
        return line + "\n";
    };
    std::string out = line_of([&](std::size_t i) { return table.columns[i].name; });
    out += line_of([&](std::size_t i) { return std::string(widths[i], '-'); });
    for (const auto& texts : cells) {
        out += line_of([&](std::size_t i) { return i < texts.size() ? texts[i] : std::string(); });
    }
    const auto n = table.rows.size();
    return out + "(" + std::to_string(n) + (n == 1 ? " row)\n" : " rows)\n");
}

std::string render_csv(const Table& table) {
    std::string out;
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
        out += i == 0 ? "" : ",";
        out += csv_cell(table.columns[i].name);
    }
    out += "\r\n";
    for (const auto& row : table.rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            out += i == 0 ? "" : ",";
            out += csv_cell(row[i]);
        }
        out += "\r\n";
    }
    return out;
}

std::string render_json(const Table& table, const Filters& applied) {
    nlohmann::ordered_json out;
    out["report"] = table.name;
    out["from"] = day_or_null(applied.range.from);
    out["to"] = day_or_null(applied.range.to);
    out["status"] = text_or_null(applied.status);
    out["domain"] = text_or_null(applied.domain);
    auto rows = nlohmann::ordered_json::array();
    for (const auto& row : table.rows) {
        nlohmann::ordered_json object = nlohmann::ordered_json::object();
        for (std::size_t i = 0; i < row.size() && i < table.columns.size(); ++i) {
            object[table.columns[i].name] = json_cell(row[i]);
        }
        rows.push_back(std::move(object));
    }
    out["rows"] = std::move(rows);
    // Text from the database is valid UTF-8; replace rather than throw if not.
    return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string render(Format format, const Table& table, const Filters& applied) {
    switch (format) {
    case Format::csv:
        return render_csv(table);
    case Format::json:
        return render_json(table, applied);
    case Format::table:
        break;
    }
    return render_text(table);
}

} // namespace leadhook::report
