#include "body/multipart.hpp"

#include "body/media_type.hpp"

#include <algorithm>
#include <optional>
#include <string>

namespace leadhook::body {
namespace {

/// A delimiter line, located relative to the parts around it.
struct Delimiter {
    std::size_t content_end; ///< end of the preceding part: the line break before "--" excluded
    std::size_t next_part;   ///< first byte after the delimiter line
    bool closes;             ///< "--boundary--": no part follows
    std::size_t dashes;      ///< where its "--boundary" starts
};

// Only "--boundary" at the start of a line delimits, so a boundary-like string
// inside a value does not split it. Every call scans forward from `from` and
// parts never overlap, which keeps the whole parse linear in the body size.
class DelimiterFinder {
  public:
    DelimiterFinder(std::string_view body, std::string_view boundary)
        : m_body(body), m_line_pattern("\n--" + std::string(boundary)) {}

    std::optional<Delimiter> find(std::size_t from) const {
        const std::string_view dash_boundary = std::string_view(m_line_pattern).substr(1);
        if (from == 0 && m_body.starts_with(dash_boundary)) {
            if (auto delimiter = classify(0, dash_boundary.size())) {
                return delimiter;
            }
        }
        for (std::size_t hit = m_body.find(m_line_pattern, from); hit != std::string_view::npos;
             hit = m_body.find(m_line_pattern, hit + 1)) {
            const bool after_cr = hit > from && m_body[hit - 1] == '\r';
            if (auto delimiter = classify(after_cr ? hit - 1 : hit, hit + m_line_pattern.size())) {
                return delimiter;
            }
        }
        return std::nullopt;
    }

  private:
    /// `rest` is just past "--boundary"; nullopt when the line is not a delimiter.
    std::optional<Delimiter> classify(std::size_t content_end, std::size_t rest) const {
        const std::size_t dashes = rest - (m_line_pattern.size() - 1);
        if (m_body.substr(rest, 2) == "--") {
            return Delimiter{content_end, m_body.size(), true, dashes};
        }
        while (rest < m_body.size() && (m_body[rest] == ' ' || m_body[rest] == '\t')) {
            ++rest;
        }
        if (m_body.substr(rest, 1) == "\n") {
            return Delimiter{content_end, rest + 1, false, dashes};
        }
        if (m_body.substr(rest, 2) == "\r\n") {
            return Delimiter{content_end, rest + 2, false, dashes};
        }
        return std::nullopt;
    }

    std::string_view m_body;
    std::string m_line_pattern; ///< "\n--boundary"
};

struct PartSections {
    std::optional<std::string_view> disposition; ///< raw Content-Disposition value
    std::string_view content;
};

ParseError part_error(std::size_t number, const std::string& what) {
    return ParseError{"multipart part " + std::to_string(number) + ": " + what};
}

std::optional<ParseError> read_header_line(std::string_view line, std::size_t number,
                                           PartSections& sections) {
    // Folding is obsolete (RFC 7230 section 3.2.4); unfolding it here would
    // only widen the ways two parsers can disagree about a header.
    if (line.front() == ' ' || line.front() == '\t') {
        return part_error(number, "folded header lines are not supported");
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
        return part_error(number, "malformed header line");
    }
    if (!equals_ignoring_ascii_case(line.substr(0, colon), "content-disposition")) {
        return std::nullopt;
    }
    if (sections.disposition) {
        return part_error(number, "repeated Content-Disposition header");
    }
    sections.disposition = line.substr(colon + 1);
    return std::nullopt;
}

// Headers end at the first empty line. A part whose headers run up to the next
// delimiter has empty content, which RFC 2046 allows (the body is optional).
Expected<PartSections, ParseError> split_part(std::string_view part, std::size_t number) {
    PartSections sections;
    sections.content = part.substr(part.size()); // empty, at the part's end
    std::size_t position = 0;
    while (position < part.size()) {
        const std::size_t line_end = std::min(part.find('\n', position), part.size());
        std::string_view line = part.substr(position, line_end - position);
        if (line_end < part.size() && line.ends_with('\r')) {
            line.remove_suffix(1);
        }
        position = std::min(line_end + 1, part.size());
        if (line.empty()) {
            sections.content = part.substr(position);
            return sections;
        }
        if (auto error = read_header_line(line, number, sections)) {
            return unexpected(std::move(*error));
        }
    }
    return sections;
}

const std::string* filename_of(const Parameters& params) {
    // RFC 7578 forbids filename* but senders still use it; either way the part
    // is a file, and its bytes must not end up stored as a value.
    const std::string* filename = find_parameter(params, "filename");
    return filename != nullptr ? filename : find_parameter(params, "filename*");
}

Field make_field(const std::string& name, const std::string* filename, std::string_view content,
                 ValueFilter keep) {
    Field field;
    field.name = name;
    field.size = content.size();
    if (filename != nullptr) {
        field.filename = *filename;
    } else if (keeps_value(keep, name)) {
        field.value = std::string(content);
    }
    return field;
}

/// `part` starts `part_offset` bytes into the body.
Expected<Field, ParseError> parse_part(std::string_view part, std::size_t part_offset,
                                       std::size_t number, const Limits& limits, ValueFilter keep) {
    auto sections = split_part(part, number);
    if (!sections) {
        return unexpected(std::move(sections).error());
    }
    if (!sections->disposition) {
        return unexpected(part_error(number, "missing Content-Disposition header"));
    }
    auto disposition = parse_parameterized(*sections->disposition);
    if (!disposition) {
        return unexpected(
            part_error(number, "malformed Content-Disposition: " + disposition.error().message));
    }
    if (!equals_ignoring_ascii_case(disposition->head, "form-data")) {
        return unexpected(part_error(number, "Content-Disposition is not form-data"));
    }
    const std::string* name = find_parameter(disposition->params, "name");
    if (name == nullptr || name->empty()) {
        return unexpected(part_error(number, "Content-Disposition has no field name"));
    }
    if (name->size() > limits.max_name_bytes) {
        return unexpected(part_error(number, "field name longer than " +
                                                 std::to_string(limits.max_name_bytes) + " bytes"));
    }
    Field field = make_field(*name, filename_of(disposition->params), sections->content, keep);
    field.raw_begin =
        part_offset + static_cast<std::size_t>(sections->content.data() - part.data());
    field.raw_end = field.raw_begin + sections->content.size();
    return field;
}

std::optional<ParseError> check_boundary(std::string_view boundary) {
    if (boundary.empty() || boundary.size() > max_boundary_bytes) {
        return ParseError{"multipart boundary must be 1 to " + std::to_string(max_boundary_bytes) +
                          " bytes long"};
    }
    if (boundary.find_first_of("\r\n") != std::string_view::npos) {
        return ParseError{"multipart boundary contains a line break"};
    }
    return std::nullopt;
}

/// Refuses a part beyond either limit, before spending anything on it.
std::optional<ParseError> check_count(std::size_t parts_so_far, const Limits& limits) {
    if (parts_so_far == limits.max_parts) {
        return ParseError{"more than " + std::to_string(limits.max_parts) + " multipart parts"};
    }
    if (parts_so_far == limits.max_fields) {
        return ParseError{"more than " + std::to_string(limits.max_fields) + " multipart fields"};
    }
    return std::nullopt;
}

} // namespace

Expected<Fields, ParseError> parse_multipart(std::string_view body, std::string_view boundary,
                                             const Limits& limits, ValueFilter keep) {
    if (auto error = check_boundary(boundary)) {
        return unexpected(std::move(*error));
    }
    const DelimiterFinder finder(body, boundary);
    auto delimiter = finder.find(0);
    if (!delimiter) {
        return unexpected(ParseError{"multipart body contains no boundary delimiter line"});
    }
    Fields fields;
    while (!delimiter->closes) {
        const std::size_t part_start = delimiter->next_part;
        delimiter = finder.find(part_start);
        if (!delimiter) {
            return unexpected(ParseError{"multipart body ended before the closing boundary"});
        }
        if (auto error = check_count(fields.size(), limits)) {
            return unexpected(std::move(*error));
        }
        auto field = parse_part(body.substr(part_start, delimiter->content_end - part_start),
                                part_start, fields.size() + 1, limits, keep);
        if (!field) {
            return unexpected(std::move(field).error());
        }
        fields.push_back(std::move(field).value());
    }
    return fields;
}

std::size_t closing_delimiter(std::string_view body, std::string_view boundary) {
    if (check_boundary(boundary)) {
        return std::string_view::npos;
    }
    const DelimiterFinder finder(body, boundary);
    auto delimiter = finder.find(0);
    while (delimiter && !delimiter->closes) {
        delimiter = finder.find(delimiter->next_part);
    }
    return delimiter ? delimiter->dashes : std::string_view::npos;
}

} // namespace leadhook::body
