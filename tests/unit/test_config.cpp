#include "config/config.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <vector>

// The suite's own namespace is called `config`, so the library's is aliased.
namespace cfg = leadhook::config;
namespace test = leadhook::test;
using cfg::Config;

namespace {

using Keys = std::vector<std::string>;

/// A fake environment: only the variables in `vars` are set.
cfg::Getenv env(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
        auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
}

Config parse_ok(std::string_view text) {
    auto parsed = cfg::parse_toml(text, "test.toml");
    BOOST_TEST_REQUIRE(parsed.has_value(), "failed: " << test::error_text(parsed));
    return std::move(parsed).value();
}

std::string toml_error(std::string_view text) {
    auto parsed = cfg::parse_toml(text, "test.toml");
    return parsed ? "<parsed>" : parsed.error().message;
}

std::string env_error(std::map<std::string, std::string> vars) {
    auto applied = cfg::apply_env(Config{}, env(std::move(vars)));
    return applied ? "<applied>" : applied.error().message;
}

Config with_key() {
    Config c;
    c.signing_keys = {"k"};
    return c;
}

std::string validate_text(const Config& c) {
    auto error = cfg::validate(c);
    return error ? error->message : "<valid>";
}

void check_defaults(const Config& c) {
    const Config d;
    BOOST_TEST(c.listen == "unix:/run/leadhook/leadhook.sock");
    BOOST_TEST(c.listen == d.listen);
    BOOST_TEST(c.socket_mode == 0660u);
    BOOST_TEST(c.threads == 8);
    BOOST_TEST(c.max_body_bytes == 26214400u);
    BOOST_TEST(c.database_url == "");
    BOOST_TEST(c.signing_keys.empty());
    BOOST_TEST(c.signing_key_file == "");
}

} // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(every_key_is_read) {
    const Config c = parse_ok(R"(# a comment
listen = "127.0.0.1:9000"
socket_mode = "0600"
threads = 4
max_body_bytes = 1048576
database_url = "postgresql://leadhook@db/leadhook"
signing_keys = ["key-one", "key-two"]
signing_key_file = "/etc/leadhook/keys"
)");
    BOOST_TEST(c.listen == "127.0.0.1:9000");
    BOOST_TEST(c.socket_mode == 0600u);
    BOOST_TEST(c.threads == 4);
    BOOST_TEST(c.max_body_bytes == 1048576u);
    BOOST_TEST(c.database_url == "postgresql://leadhook@db/leadhook");
    BOOST_TEST(c.signing_keys == (Keys{"key-one", "key-two"}), boost::test_tools::per_element());
    BOOST_TEST(c.signing_key_file == "/etc/leadhook/keys");
}

BOOST_AUTO_TEST_CASE(the_shipped_example_parses_to_the_defaults) {
    const auto example = test::corpus_dir() / "../../../deploy/leadhook.toml.example";
    check_defaults(parse_ok(test::read_file(example)));
}

BOOST_AUTO_TEST_CASE(empty_text_gives_the_defaults) {
    check_defaults(parse_ok(""));
    check_defaults(parse_ok("# only a comment\n\n"));
}

BOOST_AUTO_TEST_CASE(unknown_key_names_the_file_and_line) {
    BOOST_TEST(toml_error("threads = 2\n\nthreds = 4\n") ==
               "test.toml:3: unknown key or wrong type: threds");
    // A table is not a key we know either.
    BOOST_TEST(test::contains(toml_error("[server]\nlisten = \"a:1\"\n"), "test.toml:1: "));
}

BOOST_AUTO_TEST_CASE(wrong_types_are_refused) {
    BOOST_TEST(toml_error("threads = \"four\"") ==
               "test.toml:1: unknown key or wrong type: threads");
    BOOST_TEST(toml_error("\nlisten = 9000") == "test.toml:2: unknown key or wrong type: listen");
    BOOST_TEST(toml_error("socket_mode = 0o660") ==
               "test.toml:1: unknown key or wrong type: socket_mode");
    BOOST_TEST(toml_error("signing_keys = \"one\"") ==
               "test.toml:1: unknown key or wrong type: signing_keys");
    BOOST_TEST(toml_error("signing_keys = [\"a\",\n  2]") ==
               "test.toml:2: signing_keys must hold strings");
}

BOOST_AUTO_TEST_CASE(socket_mode_must_be_octal_text) {
    BOOST_TEST(parse_ok("socket_mode = \"0666\"").socket_mode == 0666u);
    BOOST_TEST(parse_ok("socket_mode = \"660\"").socket_mode == 0660u);
    for (std::string_view bad : {"0999", "rw-rw----", "", "0660 ", "0x1b6"}) {
        BOOST_TEST_CONTEXT(bad) {
            BOOST_TEST(toml_error("socket_mode = \"" + std::string(bad) + "\"") ==
                       "test.toml:1: socket_mode must be an octal string such as \"0660\"");
        }
    }
}

BOOST_AUTO_TEST_CASE(toml_syntax_errors_carry_the_line) {
    BOOST_TEST(test::contains(toml_error("threads = 2\nlisten = \n"), "test.toml:2: "));
    BOOST_TEST(test::contains(toml_error("threads = 2\nthreads = 3\n"), "test.toml:2: "));
    BOOST_TEST(test::contains(toml_error("\n\nlisten = \"unterminated\n"), "test.toml:3: "));
}

BOOST_AUTO_TEST_CASE(environment_overrides) {
    auto c = cfg::apply_env(parse_ok("threads = 2\nlisten = \"a:1\"\nsigning_keys = [\"file\"]"),
                            env({{"LEADHOOK_LISTEN", "unix:/tmp/x.sock"},
                                 {"LEADHOOK_DATABASE_URL", "postgresql:///lh"},
                                 {"LEADHOOK_SIGNING_KEYS", " k1 , k2,,\tk3 ,"},
                                 {"LEADHOOK_SIGNING_KEY_FILE", "/run/keys"},
                                 {"LEADHOOK_THREADS", "16"},
                                 {"LEADHOOK_MAX_BODY_BYTES", "2048"},
                                 {"LEADHOOK_SOCKET_MODE", "0640"}}));
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->listen == "unix:/tmp/x.sock");
    BOOST_TEST(c->database_url == "postgresql:///lh");
    BOOST_TEST(c->signing_keys == (Keys{"k1", "k2", "k3"}), boost::test_tools::per_element());
    BOOST_TEST(c->signing_key_file == "/run/keys");
    BOOST_TEST(c->threads == 16);
    BOOST_TEST(c->max_body_bytes == 2048u);
    BOOST_TEST(c->socket_mode == 0640u);
}

BOOST_AUTO_TEST_CASE(an_empty_environment_changes_nothing) {
    auto c = cfg::apply_env(parse_ok("threads = 3"), env({}));
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->threads == 3);
    BOOST_TEST(c->listen == Config{}.listen);
}

BOOST_AUTO_TEST_CASE(bad_environment_values_name_the_variable) {
    BOOST_TEST(env_error({{"LEADHOOK_THREADS", "eight"}}) ==
               "LEADHOOK_THREADS: not a number: eight");
    BOOST_TEST(env_error({{"LEADHOOK_THREADS", "8 "}}) == "LEADHOOK_THREADS: not a number: 8 ");
    BOOST_TEST(env_error({{"LEADHOOK_THREADS", ""}}) == "LEADHOOK_THREADS: not a number: ");
    BOOST_TEST(
        test::contains(env_error({{"LEADHOOK_MAX_BODY_BYTES", "-1"}}), "LEADHOOK_MAX_BODY_BYTES"));
    BOOST_TEST(
        test::contains(env_error({{"LEADHOOK_MAX_BODY_BYTES", "1M"}}), "LEADHOOK_MAX_BODY_BYTES"));
    BOOST_TEST(
        test::contains(env_error({{"LEADHOOK_SOCKET_MODE", "0968"}}), "LEADHOOK_SOCKET_MODE"));
}

BOOST_AUTO_TEST_CASE(key_files) {
    auto keys = cfg::parse_key_file("# rotation 2026\n\nold-key\n  new-key  \n\n# spare\na,b\n",
                                    "keys.txt");
    BOOST_TEST_REQUIRE(keys.has_value());
    BOOST_TEST(*keys == (Keys{"old-key", "new-key", "a", "b"}), boost::test_tools::per_element());
    for (std::string_view empty : {"", "\n\n", "# nothing here\n", "   \n"}) {
        auto none = cfg::parse_key_file(empty, "keys.txt");
        BOOST_TEST_REQUIRE(!none.has_value());
        BOOST_TEST(none.error().message == "keys.txt: no signing key in the file");
    }
}

BOOST_AUTO_TEST_CASE(key_files_with_crlf_line_ends) {
    auto keys = cfg::parse_key_file("key-one\r\n# c\r\nkey-two\r\n", "keys.txt");
    BOOST_TEST_REQUIRE(keys.has_value());
    BOOST_TEST(*keys == (Keys{"key-one", "key-two"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(validation) {
    BOOST_TEST(validate_text(with_key()) == "<valid>");
    BOOST_TEST(test::contains(validate_text(Config{}), "LEADHOOK_SIGNING_KEYS"));
    Config c = with_key();
    for (std::string listen : {"127.0.0.1:9000", "unix:/run/x.sock", "[::1]:9000"}) {
        c.listen = listen;
        BOOST_TEST(validate_text(c) == "<valid>", listen);
    }
    for (std::string listen : {"", "localhost", "unix:relative.sock", "/run/x.sock"}) {
        c.listen = listen;
        BOOST_TEST(test::contains(validate_text(c), "listen"), listen);
    }
    c = with_key();
    c.threads = 0;
    BOOST_TEST(test::contains(validate_text(c), "threads"));
    c.threads = 1025;
    BOOST_TEST(test::contains(validate_text(c), "threads"));
    c = with_key();
    c.max_body_bytes = 100;
    BOOST_TEST(test::contains(validate_text(c), "max_body_bytes"));
    c = with_key();
    c.socket_mode = 01000;
    BOOST_TEST(test::contains(validate_text(c), "socket_mode"));
}

BOOST_AUTO_TEST_CASE(load_config_reads_the_file_env_and_key_file) {
    test::TempFile key_file("# keys\nfile-key-1\nfile-key-2\n");
    test::TempFile config_file("threads = 2\nsigning_keys = [\"toml-key\"]\nsigning_key_file = \"" +
                               key_file.path() + "\"\n");
    auto c = cfg::load_config(config_file.path(), env({{"LEADHOOK_THREADS", "5"}}));
    BOOST_TEST_REQUIRE(c.has_value(), test::error_text(c));
    BOOST_TEST(c->threads == 5);
    BOOST_TEST(c->signing_keys == (Keys{"toml-key", "file-key-1", "file-key-2"}),
               boost::test_tools::per_element());
    // Without a file, the environment alone.
    auto env_only = cfg::load_config(std::nullopt, env({{"LEADHOOK_SIGNING_KEYS", "e"}}));
    BOOST_TEST_REQUIRE(env_only.has_value());
    BOOST_TEST(env_only->signing_keys == Keys{"e"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(load_config_errors) {
    auto missing = cfg::load_config(std::string("/nonexistent/leadhook.toml"), env({}));
    BOOST_TEST_REQUIRE(!missing.has_value());
    BOOST_TEST(test::contains(missing.error().message, "/nonexistent/leadhook.toml"));
    auto no_keys = cfg::load_config(std::nullopt, env({}));
    BOOST_TEST_REQUIRE(!no_keys.has_value());
    BOOST_TEST(test::contains(no_keys.error().message, "LEADHOOK_SIGNING_KEYS"));
    auto bad_key_file =
        cfg::load_config(std::nullopt, env({{"LEADHOOK_SIGNING_KEY_FILE", "/nonexistent/keys"}}));
    BOOST_TEST_REQUIRE(!bad_key_file.has_value());
    BOOST_TEST(test::contains(bad_key_file.error().message, "/nonexistent/keys"));
    test::TempFile bad_toml("listen = 1\n");
    auto wrong = cfg::load_config(bad_toml.path(), env({}));
    BOOST_TEST_REQUIRE(!wrong.has_value());
    BOOST_TEST(test::contains(wrong.error().message, bad_toml.path() + ":1:"));
}

BOOST_AUTO_TEST_CASE(describe_never_shows_a_key_or_the_database_url) {
    Config c = with_key();
    c.signing_keys = {"super-secret-signing-key", "another-secret"};
    c.database_url = "postgresql://user:hunter2@db/leadhook";
    const std::string line = cfg::describe(c);
    BOOST_TEST(!test::contains(line, "super-secret"));
    BOOST_TEST(!test::contains(line, "another-secret"));
    BOOST_TEST(!test::contains(line, "hunter2"));
    BOOST_TEST(test::contains(line, "signing_keys=2"));
    BOOST_TEST(test::contains(line, "socket_mode=0660"));
    BOOST_TEST(test::contains(line, "listen=unix:/run/leadhook/leadhook.sock"));
    BOOST_TEST(test::contains(line, "threads=8"));
}

BOOST_AUTO_TEST_SUITE_END()
