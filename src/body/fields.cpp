#include "body/fields.hpp"

#include <algorithm>

namespace leadhook::body {
namespace {

bool has_name(const Field& field, std::string_view name) {
    return field.name == name;
}

} // namespace

const std::string* first(const Fields& fields, std::string_view name) {
    auto found = std::find_if(fields.begin(), fields.end(),
                              [name](const Field& field) { return has_name(field, name); });
    return found == fields.end() ? nullptr : &found->value;
}

const std::string* last(const Fields& fields, std::string_view name) {
    auto found = std::find_if(fields.rbegin(), fields.rend(),
                              [name](const Field& field) { return has_name(field, name); });
    return found == fields.rend() ? nullptr : &found->value;
}

std::vector<std::string> all(const Fields& fields, std::string_view name) {
    std::vector<std::string> values;
    for (const Field& field : fields) {
        if (has_name(field, name)) {
            values.push_back(field.value);
        }
    }
    return values;
}

} // namespace leadhook::body
