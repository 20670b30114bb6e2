#include "devtools/resign.hpp"

#include "body/form.hpp"
#include "body/json.hpp"
#include "body/json_spans.hpp"
#include "body/multipart.hpp"
#include "devtools/sign_bodies.hpp"
#include "mailgun/event.hpp"
#include "mailgun/payload.hpp"
#include "mailgun/signature.hpp"
#include "util/hex.hpp"
#include "util/sha256.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace leadhook::devtools {
namespace {

constexpr std::array<std::string_view, 3> signed_names{"timestamp", "token", "signature"};

using mailgun::BodyFormat;
using mailgun::BodyKind;
using mailgun::SignatureParams;

/// One of the three signed fields by its name.
const std::string& value_of(const SignatureParams& fields, std::string_view name) {
    return name == "timestamp" ? fields.timestamp
           : name == "token"   ? fields.token
                               : fields.signature;
}

/// Index of the last field named `name` (the one leadhook reads), or npos.
std::size_t last_index(const body::Fields& fields, std::string_view name) {
    for (std::size_t i = fields.size(); i-- > 0;) {
        if (fields[i].name == name) {
            return i;
        }
    }
    return std::string::npos;
}

struct Edit {
    std::size_t begin;
    std::size_t end;
    std::string text;
};

/// Applies edits that do not overlap, from the end of the body backwards.
/// Of two at one offset, the one made later ends up later in the text.
std::string apply(std::string_view body, std::vector<Edit> edits) {
    std::stable_sort(edits.begin(), edits.end(),
                     [](const Edit& a, const Edit& b) { return a.begin < b.begin; });
    std::string out(body);
    for (auto edit = edits.rbegin(); edit != edits.rend(); ++edit) {
        out.replace(edit->begin, edit->end - edit->begin, edit->text);
    }
    return out;
}

std::string json_string(const std::string& text) {
    return nlohmann::json(text).dump();
}

/// The edits that put `fresh` into the JSON object `body`.
Expected<std::vector<Edit>, std::string> json_edits(std::string_view body,
                                                    const SignatureParams& fresh) {
    auto doc = body::parse_json(body);
    if (!doc) {
        return unexpected("body is not JSON: " + doc.error().message);
    }
    if (!doc->is_object()) {
        return unexpected(std::string("JSON body is not an object"));
    }
    const std::string object = "{\"timestamp\": " + json_string(fresh.timestamp) +
                               ", \"token\": " + json_string(fresh.token) +
                               ", \"signature\": " + json_string(fresh.signature) + "}";
    const std::size_t top = body::skip_json_space(body, 0);
    auto spans = body::object_spans(body, top);
    if (!spans) {
        return unexpected(spans.error().message);
    }
    const auto block = std::find_if(spans->members.begin(), spans->members.end(),
                                    [](const auto& m) { return m.key == "signature"; });
    if (block == spans->members.end()) {
        const std::string comma = spans->members.empty() ? "" : ", ";
        return std::vector<Edit>{{top + 1, top + 1, "\"signature\": " + object + comma}};
    }
    if (body[block->value_begin] != '{') {
        return std::vector<Edit>{{block->value_begin, block->value_end, object}};
    }
    auto inner = body::object_spans(body, block->value_begin);
    if (!inner) {
        return unexpected(inner.error().message);
    }
    std::vector<Edit> edits;
    std::string missing;
    bool has_members = !inner->members.empty();
    for (const std::string_view name : signed_names) {
        const std::string& value = value_of(fresh, name);
        const auto found = std::find_if(inner->members.begin(), inner->members.end(),
                                        [&](const auto& m) { return m.key == name; });
        if (found != inner->members.end()) {
            const bool number = name == "timestamp" && body[found->value_begin] != '"';
            edits.push_back(
                {found->value_begin, found->value_end, number ? value : json_string(value)});
        } else {
            missing +=
                (has_members ? ", \"" : "\"") + std::string(name) + "\": " + json_string(value);
            has_members = true;
        }
    }
    if (!missing.empty()) {
        edits.push_back({inner->close, inner->close, missing});
    }
    return edits;
}

/// Where missing fields go: at the end of a form; in a multipart body at the
/// closing delimiter that the parser stops at.
std::size_t insert_at(const BodyKind& kind, std::string_view body) {
    return kind.format == BodyFormat::form ? body.size()
                                           : body::closing_delimiter(body, kind.boundary);
}

/// What must precede a value written at `begin` so that it is the value:
/// nothing after the '=' of a form pair or the empty line after a part's
/// headers; the '=' itself for a pair without one; the empty line for a part
/// whose headers run up to the next delimiter.
std::string value_section(const BodyKind& kind, std::string_view body, std::size_t begin,
                          const std::string& eol) {
    const std::string_view before = body.substr(0, begin);
    if (kind.format == BodyFormat::form) {
        return before.ends_with('=') ? "" : "=";
    }
    if (before.ends_with("\n\n") || before.ends_with("\n\r\n")) {
        return "";
    }
    return before.ends_with('\n') ? eol : eol + eol;
}

/// The edits that put `fresh` into a urlencoded or multipart body.
Expected<std::vector<Edit>, std::string> form_edits(const BodyKind& kind, std::string_view body,
                                                    const SignatureParams& fresh) {
    auto fields = mailgun::parse_fields(kind, body, {}, signed_names);
    if (!fields) {
        return unexpected(fields.error().message);
    }
    const std::string eol = body.find("\r\n") != std::string_view::npos ? "\r\n" : "\n";
    const std::string delimiter = "--" + kind.boundary;
    std::vector<Edit> edits;
    std::string missing;
    for (const std::string_view name : signed_names) {
        const std::string& value = value_of(fresh, name);
        const std::size_t at = last_index(*fields, name);
        if (at != std::string::npos) {
            const auto& field = (*fields)[at];
            const std::string text =
                kind.format == BodyFormat::form ? body::url_encode(value) : value;
            edits.push_back({field.raw_begin, field.raw_end,
                             value_section(kind, body, field.raw_begin, eol) + text});
        } else if (kind.format == BodyFormat::form) {
            const bool joined = missing.empty() && (body.empty() || body.back() == '&');
            missing += (joined ? "" : "&") + std::string(name) + "=" + body::url_encode(value);
        } else {
            // Just before the closing delimiter: each added part ends with
            // the line break that a delimiter line needs in front of it.
            missing += delimiter + eol + "Content-Disposition: form-data; name=\"" +
                       std::string(name) + "\"" + eol + eol + value + eol;
        }
    }
    if (!missing.empty()) {
        const std::size_t at = insert_at(kind, body);
        edits.push_back({at, at, missing});
    }
    return edits;
}

} // namespace

std::string replay_token(std::string_view key, std::string_view seed, std::string_view timestamp) {
    // mailgun::sign is HMAC-SHA256(key, first + second): the same MAC.
    const std::string message = "leadhook-replay\n" + std::string(seed) + "\n";
    return mailgun::sign(key, message, timestamp).substr(0, 50);
}

Expected<Resigned, std::string> resign(std::string_view content_type, std::string_view body,
                                       std::string_view key,
                                       const std::optional<std::string>& timestamp,
                                       std::int64_t now_seconds) {
    auto kind = mailgun::kind_of(content_type, body);
    if (!kind) {
        return unexpected(kind.error().message);
    }
    auto old = mailgun::read_signature(content_type, body);
    if (!old) {
        return unexpected(old.error().message);
    }
    SignatureParams fresh;
    fresh.timestamp = timestamp ? *timestamp
                      : *old    ? (*old)->timestamp
                                : std::to_string(now_seconds);
    fresh.token = replay_token(key, *old ? (*old)->token : to_hex(sha256(body)), fresh.timestamp);
    fresh.signature = mailgun::sign(key, fresh.timestamp, fresh.token);
    auto edits =
        kind->format == BodyFormat::json ? json_edits(body, fresh) : form_edits(*kind, body, fresh);
    if (!edits) {
        return unexpected(edits.error());
    }
    return Resigned{apply(body, std::move(edits).value()), std::move(fresh)};
}

} // namespace leadhook::devtools
