// libFuzzer target for parse_multipart. The boundary comes from the input so
// the fuzzer explores boundaries as well as bodies:
//  * input starting with "--": the boundary is the rest of the first line
//    (so raw bodies such as tests/data/mailgun/*.multipart work as seeds);
//  * otherwise the first byte is the boundary length (taken modulo 80, so
//    empty and over-long boundaries occur), then the boundary, then the body.
#include "body/multipart.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>

using namespace leadhook::body;

namespace {

void require(bool holds) {
    if (!holds) {
        std::abort();
    }
}

std::pair<std::string_view, std::string_view> split_input(std::string_view input) {
    if (input.starts_with("--")) {
        const std::size_t line_end = std::min(input.find_first_of("\r\n"), input.size());
        return {input.substr(2, line_end - 2), input};
    }
    if (input.empty()) {
        return {input, input};
    }
    const std::size_t length =
        std::min<std::size_t>(static_cast<unsigned char>(input[0]) % 80, input.size() - 1);
    return {input.substr(1, length), input.substr(1 + length)};
}

void check_fields(const Fields& fields, const Limits& limits, std::size_t body_size) {
    require(fields.size() <= limits.max_fields && fields.size() <= limits.max_parts);
    std::size_t total = 0;
    for (const Field& field : fields) {
        require(!field.name.empty() && field.name.size() <= limits.max_name_bytes);
        if (field.filename) {
            require(field.value.empty());
        } else {
            require(field.size == field.value.size());
        }
        total += field.size;
    }
    require(total <= body_size);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto [boundary, body] = split_input({reinterpret_cast<const char*>(data), size});
    const Limits limits{.max_fields = 16, .max_name_bytes = 32, .max_parts = 12};
    auto parsed = parse_multipart(body, boundary, limits);
    if (!parsed) {
        require(!parsed.error().message.empty());
        return 0;
    }
    require(!boundary.empty() && boundary.size() <= max_boundary_bytes);
    check_fields(*parsed, limits, body.size());
    return 0;
}
