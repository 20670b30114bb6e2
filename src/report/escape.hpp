#pragma once
// Text put into HTML or SVG, as element content or a quoted attribute value.
#include <string>
#include <string_view>

namespace leadhook::report {

/// `text` with & < > " ' as character references: safe in element content
/// and in single- or double-quoted attribute values alike.
std::string escape_html(std::string_view text);

} // namespace leadhook::report
