// libFuzzer target for fcgi::RequestReader, the FastCGI records a web server
// (or anyone who can reach the socket) sends. Beyond "no crash": what comes
// out is the same whether the bytes arrive at once or in pieces of the size
// the first input byte chooses, and every request kept is within its bounds.
#include "fcgi/protocol.hpp"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace leadhook::fcgi;

namespace {

void require(bool holds) {
    if (!holds) {
        std::abort();
    }
}

constexpr ProtocolLimits limits{
    .max_params_bytes = 4096, .max_param_bytes = 1024, .max_requests = 4};
constexpr std::size_t max_body = 8192;

std::size_t declared_length(const Params& params) {
    for (const auto& [name, value] : params) {
        if (name == "CONTENT_LENGTH") {
            std::size_t n = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            return ec == std::errc{} && end == value.data() + value.size() ? n : max_body + 1;
        }
    }
    return 0;
}

/// Everything the reader reports for `input`, fed `piece` bytes at a time,
/// as text: requests, replies, and how the connection ended.
std::string transcript(std::string_view input, std::size_t piece) {
    RequestReader reader(limits);
    std::string out;
    while (true) {
        std::string_view chunk = input.substr(0, piece);
        const std::size_t offered = chunk.size();
        const auto step = reader.consume(chunk);
        input.remove_prefix(offered - chunk.size());
        out += reader.replies();
        reader.replies().clear();
        if (step == RequestReader::Step::params) {
            const std::size_t length = declared_length(reader.request().params);
            if (length > max_body) {
                reader.refuse_body();
            } else {
                reader.admit_body(length);
            }
        } else if (step == RequestReader::Step::ready) {
            const IncomingRequest request = reader.take();
            std::size_t params_bytes = 0;
            for (const auto& [name, value] : request.params) {
                require(name.size() + value.size() <= limits.max_param_bytes);
                params_bytes += name.size() + value.size();
                out += name + "=" + value + ";";
            }
            require(params_bytes <= limits.max_params_bytes);
            require(request.body.size() <= max_body);
            out +=
                "|" + std::to_string(request.id) + "|" + request.body + "|" + request.error + "\n";
        } else if (step == RequestReader::Step::close) {
            return out + "close:" + reader.problem();
        } else if (input.empty()) {
            const auto last = reader.end_of_input();
            if (last == RequestReader::Step::ready) {
                out += "eof:" + reader.take().error;
            }
            return out + "end:" + reader.problem();
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::size_t piece = data[0] % 13 + 1;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    require(transcript(input, input.size() + 1) == transcript(input, piece));
    return 0;
}
