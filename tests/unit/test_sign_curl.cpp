// `leadhook sign --curl URL`: where it posts, and that the printed command
// carries the body's exact bytes (decoded here as printf '%b' decodes it;
// tests/integration/test_devtools.py runs it with bash against a stack).
#include "devtools/curl_command.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_sign_curl {

using namespace leadhook;

namespace {

const std::string route = "/api/v1/wh/mg/events";

std::string target(std::string_view url) {
    auto result = devtools::target_url(url, route);
    return result ? *result : "error: " + result.error();
}

/// The single-quoted word starting at `pos`, unquoted (handles '\'').
std::string unquote_word(const std::string& command, std::size_t& pos) {
    std::string out;
    BOOST_TEST_REQUIRE(command.at(pos) == '\'');
    ++pos;
    while (true) {
        const auto end = command.find('\'', pos);
        BOOST_TEST_REQUIRE(end != std::string::npos);
        out += command.substr(pos, end - pos);
        pos = end + 1;
        if (command.compare(pos, 3, "\\''") == 0) {
            out += '\'';
            pos += 3;
            continue;
        }
        return out;
    }
}

/// What printf '%b' prints for `arg`: \\, \r, \n, \t and \0ooo, as POSIX says.
std::string printf_b(const std::string& arg) {
    std::string out;
    for (std::size_t i = 0; i < arg.size(); ++i) {
        if (arg[i] != '\\') {
            out += arg[i];
            continue;
        }
        const char next = arg.at(++i);
        if (next == '\\') {
            out += '\\';
        } else if (next == 'r') {
            out += '\r';
        } else if (next == 'n') {
            out += '\n';
        } else if (next == 't') {
            out += '\t';
        } else if (next == '0') {
            int value = 0;
            for (int digits = 0;
                 digits < 3 && i + 1 < arg.size() && arg[i + 1] >= '0' && arg[i + 1] <= '7';
                 ++digits) {
                value = value * 8 + (arg[++i] - '0');
            }
            out += static_cast<char>(value);
        } else {
            BOOST_FAIL("unexpected escape \\" << next);
        }
    }
    return out;
}

/// The body the command would send.
std::string body_of(const std::string& command) {
    const std::string prefix = "printf '%b' ";
    BOOST_TEST_REQUIRE(command.starts_with(prefix));
    std::size_t pos = prefix.size();
    return printf_b(unquote_word(command, pos));
}

} // namespace

BOOST_AUTO_TEST_SUITE(sign_curl)

BOOST_AUTO_TEST_CASE(a_base_url_gets_the_route_a_full_url_is_used_as_is) {
    BOOST_TEST(target("http://127.0.0.1:8080") == "http://127.0.0.1:8080" + route);
    BOOST_TEST(target("http://127.0.0.1:8080/") == "http://127.0.0.1:8080" + route);
    BOOST_TEST(target("https://hooks.example.com") == "https://hooks.example.com" + route);
    BOOST_TEST(target("http://h:1/api/v1/wh/mg/lead/email/open") ==
               "http://h:1/api/v1/wh/mg/lead/email/open");
    BOOST_TEST(target("http://h:1/x?y=z") == "http://h:1/x?y=z");
}

BOOST_AUTO_TEST_CASE(other_urls_are_refused) {
    BOOST_TEST(target("127.0.0.1:8080") == "error: --curl needs an http:// or https:// URL");
    BOOST_TEST(target("ftp://h/") == "error: --curl needs an http:// or https:// URL");
    BOOST_TEST(target("http:///x") == "error: --curl URL has no host");
    BOOST_TEST(target("http://h x/") ==
               "error: --curl URL contains a space or a control character");
    BOOST_TEST(test::contains(target("http://h?x=1"), "give a base"));
}

BOOST_AUTO_TEST_CASE(shell_quoting) {
    BOOST_TEST(devtools::shell_quote("plain") == "'plain'");
    BOOST_TEST(devtools::shell_quote("it's") == "'it'\\''s'");
    BOOST_TEST(devtools::shell_quote("$HOME `x` \"y\"") == "'$HOME `x` \"y\"'");
}

BOOST_AUTO_TEST_CASE(the_command_is_one_ascii_line_that_carries_the_exact_bytes) {
    std::string body = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nit's 100% "
                       "\\n not a newline\t\x01\x7f caf\xc3\xa9 \\0101 7\r\n--b--\r\n";
    body.push_back('\0');
    body += "5";
    const std::string command = devtools::curl_command(body, "multipart/form-data; boundary=b",
                                                       "http://127.0.0.1:8080/x'y");
    for (const char c : command) {
        BOOST_TEST_REQUIRE((c >= 0x20 && c < 0x7f), "byte " << int(static_cast<unsigned char>(c)));
    }
    BOOST_TEST(body_of(command) == body);
    BOOST_TEST(test::contains(command, " | curl -sS -X POST -H 'Content-Type: multipart/form-data; "
                                       "boundary=b' --data-binary @- "));
    BOOST_TEST(command.ends_with(" 'http://127.0.0.1:8080/x'\\''y'"));
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_sign_curl
