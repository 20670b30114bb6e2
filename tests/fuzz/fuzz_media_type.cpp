// libFuzzer target for parse_media_type (and through it the parameter grammar
// that Content-Disposition shares). Accepted values must re-serialise and
// parse back to the same result.
#include "body/media_type.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace leadhook::body;

namespace {

void require(bool holds) {
    if (!holds) {
        std::abort();
    }
}

bool has_upper_case(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string quote(std::string_view value) {
    std::string quoted = "\"";
    for (char c : value) {
        if (c == '"' || c == '\\') {
            quoted += '\\';
        }
        quoted += c;
    }
    return quoted + "\"";
}

std::string serialise(const MediaType& media) {
    std::string text = media.essence;
    for (const auto& [name, value] : media.params) {
        text += "; " + name + "=" + quote(value);
    }
    return text;
}

void check(const MediaType& media) {
    require(std::count(media.essence.begin(), media.essence.end(), '/') == 1);
    require(!has_upper_case(media.essence));
    require(media.params.size() <= max_header_parameters);
    for (const auto& [name, value] : media.params) {
        require(is_token(name) && !has_upper_case(name));
        require(media.param(name) == &value);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view header(reinterpret_cast<const char*>(data), size);
    auto media = parse_media_type(header);
    if (!media) {
        require(!media.error().message.empty());
        return 0;
    }
    check(*media);
    require(parse_parameterized(header).has_value());
    auto again = parse_media_type(serialise(*media));
    require(again.has_value() && again->essence == media->essence);
    require(again->params == media->params);
    return 0;
}
