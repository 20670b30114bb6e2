#include "body/multipart.hpp"

#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_multipart {

using namespace leadhook::body;
using leadhook::test::corpus_files;
using leadhook::test::read_file;
using leadhook::test::text_of;

namespace {

constexpr std::string_view boundary = "BoUnDaRyStRiNg";

std::string text_part(std::string_view name, std::string_view value) {
    return "--BoUnDaRyStRiNg\r\nContent-Disposition: form-data; name=\"" + std::string(name) +
           "\"\r\n\r\n" + std::string(value) + "\r\n";
}

const std::string close_line = "--BoUnDaRyStRiNg--\r\n";

Fields parse_ok(std::string_view body, const Limits& limits = {}) {
    auto parsed = parse_multipart(body, boundary, limits);
    BOOST_TEST_REQUIRE(parsed.has_value(), "failed: " << (parsed ? "" : parsed.error().message));
    return std::move(parsed).value();
}

std::string error_of(std::string_view body, const Limits& limits = {}) {
    auto parsed = parse_multipart(body, boundary, limits);
    return parsed ? "<parsed>" : parsed.error().message;
}

} // namespace

BOOST_AUTO_TEST_SUITE(multipart)

BOOST_AUTO_TEST_CASE(text_parts_in_order) {
    const Fields fields =
        parse_ok(text_part("event", "bounced") + text_part("code", "550") + close_line);
    BOOST_TEST_REQUIRE(fields.size() == 2u);
    BOOST_TEST(fields[0].name == "event");
    BOOST_TEST(fields[0].value == "bounced");
    BOOST_TEST(fields[0].size == 7u);
    BOOST_TEST(!fields[0].filename.has_value());
    BOOST_TEST(fields[1].name == "code");
    BOOST_TEST(fields[1].value == "550");
}

BOOST_AUTO_TEST_CASE(repeated_names_are_all_kept) {
    const Fields fields = parse_ok(text_part("tag", "a") + text_part("token", "1") +
                                   text_part("tag", "b") + text_part("token", "2") + close_line);
    BOOST_TEST(all(fields, "tag") == (std::vector<std::string>{"a", "b"}),
               boost::test_tools::per_element());
    BOOST_TEST(text_of(first(fields, "token")) == "1");
    BOOST_TEST(text_of(last(fields, "token")) == "2");
}

BOOST_AUTO_TEST_CASE(boundary_inside_a_value_does_not_split_it) {
    const std::string tricky = "x--BoUnDaRyStRiNg y\r\n--BoUnDaRyStRiNgX\r\n --BoUnDaRyStRiNg";
    const Fields fields = parse_ok(text_part("a", tricky) + close_line);
    BOOST_TEST_REQUIRE(fields.size() == 1u);
    BOOST_TEST(fields[0].value == tricky);
    BOOST_TEST(fields[0].size == tricky.size());
}

BOOST_AUTO_TEST_CASE(values_keep_line_breaks_and_only_the_delimiter_crlf_is_removed) {
    const Fields fields = parse_ok(text_part("a", "line1\r\nline2\r\n") + text_part("b", "x\r") +
                                   text_part("c", "\n") + close_line);
    BOOST_TEST(text_of(first(fields, "a")) == "line1\r\nline2\r\n");
    BOOST_TEST(text_of(first(fields, "b")) == "x\r");
    BOOST_TEST(text_of(first(fields, "c")) == "\n");
}

BOOST_AUTO_TEST_CASE(preamble_and_epilogue_are_ignored) {
    const std::string body = "This is the preamble.\r\n--BoUnDaRyStRiNg is not here\r\n" +
                             text_part("a", "1") + "--BoUnDaRyStRiNg--  \r\nepilogue\r\n" +
                             text_part("b", "2");
    const Fields fields = parse_ok(body);
    BOOST_TEST_REQUIRE(fields.size() == 1u);
    BOOST_TEST(fields[0].name == "a");
    BOOST_TEST(fields[0].value == "1");
}

BOOST_AUTO_TEST_CASE(close_delimiter_without_trailing_line_break) {
    BOOST_TEST(parse_ok(text_part("a", "1") + "--BoUnDaRyStRiNg--").size() == 1u);
}

BOOST_AUTO_TEST_CASE(bare_lf_line_endings) {
    const std::string body = "--BoUnDaRyStRiNg\nContent-Disposition: form-data; name=\"a\"\n\n"
                             "one\ntwo\n--BoUnDaRyStRiNg\ncontent-disposition: form-data; "
                             "name=b\n\n2\n--BoUnDaRyStRiNg--\n";
    const Fields fields = parse_ok(body);
    BOOST_TEST_REQUIRE(fields.size() == 2u);
    BOOST_TEST(fields[0].value == "one\ntwo");
    BOOST_TEST(fields[1].name == "b");
    BOOST_TEST(fields[1].value == "2");
}

BOOST_AUTO_TEST_CASE(transport_padding_after_delimiters) {
    const std::string body =
        "--BoUnDaRyStRiNg \t \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
        "--BoUnDaRyStRiNg\t\nContent-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n" +
        close_line;
    const Fields fields = parse_ok(body);
    BOOST_TEST_REQUIRE(fields.size() == 2u);
    BOOST_TEST(fields[0].value == "1");
    BOOST_TEST(fields[1].value == "2");
}

BOOST_AUTO_TEST_CASE(file_part_records_filename_and_size_but_no_bytes) {
    const std::string mime = "Received: by mx\r\nSubject: hi\r\n\r\nbody\r\n";
    const std::string body =
        text_part("attachment-count", "1") +
        "--BoUnDaRyStRiNg\r\nContent-Disposition: form-data; name=\"attachment-1\"; "
        "filename=\"message.mime\"\r\nContent-Type: message/rfc822\r\n\r\n" +
        mime + "\r\n" + close_line;
    const Fields fields = parse_ok(body);
    BOOST_TEST_REQUIRE(fields.size() == 2u);
    BOOST_TEST(fields[1].name == "attachment-1");
    BOOST_TEST(fields[1].filename.value_or("<none>") == "message.mime");
    BOOST_TEST(fields[1].size == mime.size());
    BOOST_TEST(fields[1].value.empty());
    BOOST_TEST(!fields[0].filename.has_value());
}

BOOST_AUTO_TEST_CASE(empty_filename_and_extended_filename_still_mean_a_file) {
    const std::string body = "--BoUnDaRyStRiNg\r\nContent-Disposition: form-data; name=f; "
                             "filename=\"\"\r\n\r\nabc\r\n--BoUnDaRyStRiNg\r\n"
                             "Content-Disposition: form-data; name=g; "
                             "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\r\nxy\r\n" +
                             close_line;
    const Fields fields = parse_ok(body);
    BOOST_TEST_REQUIRE(fields.size() == 2u);
    BOOST_TEST(fields[0].filename.value_or("<none>") == "");
    BOOST_TEST(fields[0].size == 3u);
    BOOST_TEST(fields[0].value.empty());
    BOOST_TEST(fields[1].filename.value_or("<none>") == "UTF-8''r%C3%A9sum%C3%A9.pdf");
    BOOST_TEST(fields[1].size == 2u);
}

BOOST_AUTO_TEST_CASE(empty_part_values) {
    const std::string no_body_at_all =
        "--BoUnDaRyStRiNg\r\nContent-Disposition: form-data; name=\"b\"\r\n" + close_line;
    const Fields fields = parse_ok(text_part("a", "") + no_body_at_all);
    BOOST_TEST_REQUIRE(fields.size() == 2u);
    BOOST_TEST(fields[0].value == "");
    BOOST_TEST(fields[0].size == 0u);
    BOOST_TEST(fields[1].name == "b");
    BOOST_TEST(fields[1].value == "");
}

BOOST_AUTO_TEST_CASE(header_names_are_case_insensitive_and_others_ignored) {
    const std::string body = "--BoUnDaRyStRiNg\r\ncontent-type: text/plain; charset=utf-8\r\n"
                             "CONTENT-disposition:form-data;name=\"a\"\r\nX-Other: 1\r\n\r\n"
                             "v\r\n" +
                             close_line;
    BOOST_TEST(text_of(first(parse_ok(body), "a")) == "v");
}

BOOST_AUTO_TEST_CASE(closing_delimiter_alone_is_an_empty_form) {
    BOOST_TEST(parse_ok(close_line).empty());
    BOOST_TEST(parse_ok("preamble\r\n" + close_line).empty());
}

BOOST_AUTO_TEST_CASE(missing_disposition_or_name) {
    BOOST_TEST(error_of("--BoUnDaRyStRiNg\r\nContent-Type: text/plain\r\n\r\nv\r\n" + close_line) ==
               "multipart part 1: missing Content-Disposition header");
    BOOST_TEST(error_of(text_part("a", "1") +
                        "--BoUnDaRyStRiNg\r\nContent-Disposition: form-data\r\n\r\nv\r\n" +
                        close_line) == "multipart part 2: Content-Disposition has no field name");
    BOOST_TEST(error_of(text_part("", "1") + close_line) ==
               "multipart part 1: Content-Disposition has no field name");
    BOOST_TEST(error_of("--BoUnDaRyStRiNg\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n" +
                        close_line) == "multipart part 1: Content-Disposition is not form-data");
}

BOOST_AUTO_TEST_CASE(malformed_part_headers) {
    BOOST_TEST(error_of("--BoUnDaRyStRiNg\r\nno colon here\r\n\r\nv\r\n" + close_line) ==
               "multipart part 1: malformed header line");
    BOOST_TEST(error_of("--BoUnDaRyStRiNg\r\nContent-Disposition : form-data; name=a\r\n\r\n"
                        "v\r\n" +
                        close_line) == "multipart part 1: malformed header line");
    BOOST_TEST(error_of("--BoUnDaRyStRiNg\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\n"
                        "v\r\n" +
                        close_line) == "multipart part 1: folded header lines are not supported");
    BOOST_TEST(error_of("--BoUnDaRyStRiNg\r\nContent-Disposition: form-data; name=a\r\n"
                        "Content-Disposition: form-data; name=b\r\n\r\nv\r\n" +
                        close_line) == "multipart part 1: repeated Content-Disposition header");
    BOOST_TEST(error_of("--BoUnDaRyStRiNg\r\nContent-Disposition: form-data; name=\"a\r\n\r\n"
                        "v\r\n" +
                        close_line) == "multipart part 1: malformed Content-Disposition: "
                                       "unterminated quoted string starting at byte offset 17");
}

BOOST_AUTO_TEST_CASE(truncated_bodies) {
    const std::string truncated = "multipart body ended before the closing boundary";
    const std::string complete = text_part("a", "1") + text_part("b", "2") + close_line;
    BOOST_TEST(error_of(text_part("a", "1") + text_part("b", "2")) == truncated);
    BOOST_TEST(error_of(complete.substr(0, complete.size() - close_line.size() + 10)) == truncated);
    BOOST_TEST(error_of(text_part("a", "1") + "--BoUnDaRyStRiNg") == truncated);
    BOOST_TEST(error_of(text_part("a", "half a val")) == truncated);
}

BOOST_AUTO_TEST_CASE(no_delimiter_at_all) {
    const std::string message = "multipart body contains no boundary delimiter line";
    BOOST_TEST(error_of("") == message);
    BOOST_TEST(error_of("event=bounced&code=550") == message);
    BOOST_TEST(error_of("xx--BoUnDaRyStRiNg\r\n") == message);
    BOOST_TEST(error_of("--BoUnDaRyStRiNgX\r\n") == message);
}

BOOST_AUTO_TEST_CASE(boundary_length_is_checked) {
    const std::string longest(70, 'b');
    const std::string body = "--" + longest +
                             "\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--" + longest +
                             "--\r\n";
    auto parsed = parse_multipart(body, longest);
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(text_of(first(*parsed, "a")) == "1");
    const std::string too_long(71, 'b');
    BOOST_TEST(parse_multipart(body, too_long).error().message ==
               "multipart boundary must be 1 to 70 bytes long");
    BOOST_TEST(parse_multipart(body, "").error().message ==
               "multipart boundary must be 1 to 70 bytes long");
    BOOST_TEST(parse_multipart(body, "a\r\nb").error().message ==
               "multipart boundary contains a line break");
}

BOOST_AUTO_TEST_CASE(field_count_limit) {
    const std::string two = text_part("a", "1") + text_part("b", "2");
    BOOST_TEST(parse_ok(two + close_line, Limits{2, 256}).size() == 2u);
    BOOST_TEST(error_of(two + text_part("c", "3") + close_line, Limits{2, 256}) ==
               "more than 2 multipart fields");
}

BOOST_AUTO_TEST_CASE(part_count_limit) {
    const std::string two = text_part("a", "1") + text_part("b", "2");
    BOOST_TEST(parse_ok(two + close_line, Limits{.max_parts = 2}).size() == 2u);
    BOOST_TEST(error_of(two + text_part("c", "3") + close_line, Limits{.max_parts = 2}) ==
               "more than 2 multipart parts");
    // Both limits hold; the message names the one that was reached.
    BOOST_TEST(error_of(two + close_line, Limits{.max_fields = 1, .max_parts = 1}) ==
               "more than 1 multipart parts");
    BOOST_TEST(error_of(two + close_line, Limits{.max_fields = 1, .max_parts = 5}) ==
               "more than 1 multipart fields");
    // A file part counts like any other.
    const std::string file = "--BoUnDaRyStRiNg\r\nContent-Disposition: form-data; "
                             "name=\"attachment-1\"; filename=\"a.eml\"\r\n\r\nFrom: x\r\n";
    BOOST_TEST(error_of(two + file + close_line, Limits{.max_parts = 2}) ==
               "more than 2 multipart parts");
}

BOOST_AUTO_TEST_CASE(default_part_limit_is_200) {
    std::string body;
    for (int i = 0; i < 200; ++i) {
        body += text_part("f" + std::to_string(i), "v");
    }
    BOOST_TEST(parse_ok(body + close_line).size() == 200u);
    BOOST_TEST(error_of(body + text_part("one-more", "v") + close_line) ==
               "more than 200 multipart parts");
}

BOOST_AUTO_TEST_CASE(name_length_limit) {
    BOOST_TEST(parse_ok(text_part("abc", "1") + close_line, Limits{10, 3}).size() == 1u);
    BOOST_TEST(error_of(text_part("a", "1") + text_part("abcd", "1") + close_line, Limits{10, 3}) ==
               "multipart part 2: field name longer than 3 bytes");
}

BOOST_AUTO_TEST_CASE(every_multipart_in_the_corpus_parses_with_a_signature) {
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(LEADHOOK_CORPUS_DIR)) {
        if (entry.path().extension() != ".multipart") {
            continue;
        }
        ++files;
        BOOST_TEST_CONTEXT(entry.path().filename().string()) {
            const Fields fields = parse_ok(read_file(entry.path()));
            const std::string timestamp = text_of(last(fields, "timestamp"));
            BOOST_TEST(timestamp.size() == 10u);
            BOOST_TEST(timestamp.find_first_not_of("0123456789") == std::string::npos);
            BOOST_TEST(text_of(last(fields, "token")).size() >= 32u);
            BOOST_TEST(text_of(last(fields, "signature")).size() == 64u);
            BOOST_TEST(text_of(first(fields, "event")).size() > 0u);
        }
    }
    BOOST_TEST(files >= 5u);
}

BOOST_AUTO_TEST_CASE(corpus_bounce_values) {
    const Fields fields = parse_ok(read_file(std::filesystem::path(LEADHOOK_CORPUS_DIR) /
                                             "anymail-legacy__bounced-550.multipart"));
    BOOST_TEST(fields.size() == 7u);
    BOOST_TEST(text_of(first(fields, "event")) == "bounced");
    BOOST_TEST(text_of(first(fields, "code")) == "550");
    BOOST_TEST(text_of(first(fields, "recipient")) == "noreply@example.com");
    BOOST_TEST(text_of(first(fields, "error")).find("550 5.1.1 The email account") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_multipart
