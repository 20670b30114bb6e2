#include "storage/pg_conninfo.hpp"

#include <libpq-fe.h>

#include <memory>

namespace leadhook::storage {
namespace {

struct ConninfoFree {
    void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};
struct ErrorFree {
    void operator()(char* message) const noexcept { PQfreemem(message); }
};

} // namespace

Expected<std::string, std::string> redacted_conninfo(const std::string& conninfo) {
    char* raw_error = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoFree> options(
        PQconninfoParse(conninfo.c_str(), &raw_error));
    std::unique_ptr<char, ErrorFree> error(raw_error);
    if (!options) {
        std::string message = error ? error.get() : "libpq could not parse it";
        while (!message.empty() && message.back() == '\n') {
            message.pop_back();
        }
        return unexpected(message);
    }
    std::string out;
    for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
        if (o->val == nullptr || *o->val == '\0') {
            continue;
        }
        const bool secret = std::string_view(o->keyword) == "password";
        out += (out.empty() ? "" : " ") + std::string(o->keyword) + "=" +
               (secret ? std::string("(redacted)") : std::string(o->val));
    }
    return out.empty() ? std::string("(libpq defaults: PGHOST, PGDATABASE, ...)") : out;
}

} // namespace leadhook::storage
