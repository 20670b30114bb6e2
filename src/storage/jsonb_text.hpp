#pragma once
// The text of a jsonb parameter (an array of row objects, or of scalars),
// written straight into one string, with no nlohmann tree per batch and no
// second copy of each payload (docs/benchmarks.md: "Batch parameters as jsonb
// text"). Strings are made storable on the way out: each invalid UTF-8
// sequence and each NUL becomes U+FFFD (to_storable_utf8's rule), since
// jsonb rejects both.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook::storage {

class JsonbText {
  public:
    JsonbText() : m_text("[") {}

    /// An element of the outer array that is an object; end it with end_object().
    JsonbText& begin_object();
    JsonbText& end_object();

    /// Members of the current object. text(): null when empty, as text() params.
    JsonbText& text(std::string_view name, std::string_view value);
    JsonbText& number(std::string_view name, std::int64_t value);
    JsonbText& number(std::string_view name, std::optional<std::int64_t> value);
    JsonbText& boolean(std::string_view name, bool value);
    /// An array of strings.
    JsonbText& strings(std::string_view name, const std::vector<std::string>& values);
    /// Written as nlohmann's compact dump() would, strings made storable.
    JsonbText& value(std::string_view name, const nlohmann::json& value);

    /// Elements of the outer array that are not objects.
    JsonbText& element(std::string_view value);
    JsonbText& element(std::int64_t value);
    JsonbText& json_element(const nlohmann::json& value);

    bool empty() const { return m_text.size() == 1; }
    /// The finished array. The writer is empty afterwards.
    std::string finish();

  private:
    void separate();
    void key(std::string_view name);
    void string(std::string_view value);
    void integer(std::int64_t value);
    void write(const nlohmann::json& value);

    std::string m_text;
};

} // namespace leadhook::storage
