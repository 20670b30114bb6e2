// libFuzzer target for what `leadhook read-capture` runs on a capture file:
// capture::parse_capture, then devtools::resign (body/json_spans.hpp and the
// parsers' value positions). Beyond "no crash": a re-signed body reads back,
// through leadhook's own mailgun::read_signature, as exactly the fields it
// was signed with; and for JSON every member span re-parses to the value
// nlohmann holds under that key.
#include "body/json.hpp"
#include "body/json_spans.hpp"
#include "capture/capture_read.hpp"
#include "devtools/resign.hpp"
#include "mailgun/payload.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace leadhook;

namespace {

void require(bool holds) {
    if (!holds) {
        std::abort();
    }
}

void check_spans(std::string_view text) {
    auto doc = body::parse_json(text);
    if (!doc || !doc->is_object()) {
        return;
    }
    auto spans = body::object_spans(text, body::skip_json_space(text, 0));
    require(spans.has_value() && spans->members.size() == doc->size());
    for (const auto& member : spans->members) {
        require(doc->contains(member.key));
        const auto value = nlohmann::json::parse(
            text.substr(member.value_begin, member.value_end - member.value_begin), nullptr, false);
        require(!value.is_discarded() && value == (*doc)[member.key]);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto request = capture::parse_capture(input);
    if (!request) {
        return 0;
    }
    const std::string* type = request->header("Content-Type");
    const std::string content_type = type != nullptr ? *type : "";
    check_spans(request->body);
    auto out = devtools::resign(content_type, request->body, "fuzz-key", std::string("1700000000"),
                                1800000000);
    if (!out) {
        return 0;
    }
    auto params = mailgun::read_signature(content_type, out->body);
    require(params.has_value() && params->has_value());
    require((*params)->timestamp == out->fields.timestamp);
    require((*params)->token == out->fields.token);
    require((*params)->signature == out->fields.signature);
    return 0;
}
