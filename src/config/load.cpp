// load_config: the only part of config/ that touches the file system.
#include "config/config.hpp"

#include "util/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace leadhook::config {
namespace {

/// A file's text and permission bits, both from the one descriptor: the
/// mode judged is that of the file read, whatever the path points at later.
struct OpenedFile {
    std::string text;
    unsigned mode = 0;
};

std::optional<OpenedFile> read_opened(const std::string& path) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    struct stat st {};
    if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return std::nullopt;
    }
    OpenedFile file{.text = {}, .mode = static_cast<unsigned>(st.st_mode & 07777)};
    char buf[8192];
    for (;;) {
        const ssize_t got = ::read(fd.get(), buf, sizeof buf);
        if (got == 0) {
            return file;
        }
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return std::nullopt;
        }
        file.text.append(buf, static_cast<std::size_t>(got));
    }
}

std::string octal(unsigned mode) {
    char text[16];
    std::snprintf(text, sizeof text, "%04o", mode & 07777);
    return text;
}

/// A warning when users outside the owner and group can get at a config
/// file that holds signing keys: anyone who reads a key can forge webhooks.
std::optional<std::string> exposure_warning(const std::string& path, unsigned mode) {
    if ((mode & 07) == 0) {
        return std::nullopt;
    }
    const bool readable = (mode & 04) != 0;
    const bool writable = (mode & 02) != 0;
    const char* what = readable && writable ? "readable and writable"
                       : readable           ? "readable"
                       : writable           ? "writable"
                                            : "accessible";
    return path + ": " + what + " by other users (mode " + octal(mode) +
           "); chmod 0600 it: it holds signing keys";
}

/// A key file others can read (and forge webhooks with), or the group or
/// others can write (and plant a key in), is refused.
std::optional<ConfigError> key_file_refusal(const std::string& path, unsigned mode) {
    const bool others_read = (mode & 04) != 0;
    const bool writable = (mode & 022) != 0;
    if (!others_read && !writable) {
        return std::nullopt;
    }
    const std::string what = others_read && writable ? "readable by other users and writable"
                             : others_read           ? "readable by other users"
                             : (mode & 02) != 0      ? "writable by other users"
                                                     : "writable by its group";
    return ConfigError{path + ": the signing key file is " + what + " (mode " + octal(mode) +
                       "): fix it with chmod 0600 " + path +
                       " (0640 if a group must read it), "
                       "owned by the user leadhook runs as"};
}

Expected<Config, ConfigError> read_config_file(const std::string& path) {
    auto file = read_opened(path);
    if (!file) {
        return unexpected(ConfigError{path + ": cannot read the config file"});
    }
    auto config = parse_toml(file->text, path);
    if (config && !config->signing_keys.empty()) {
        if (auto warning = exposure_warning(path, file->mode)) {
            config->warnings.push_back(std::move(*warning));
        }
    }
    return config;
}

std::optional<ConfigError> add_key_file(Config& config) {
    const std::string& path = config.signing_key_file;
    auto file = read_opened(path);
    if (!file) {
        return ConfigError{path + ": cannot read the signing key file"};
    }
    if (auto refusal = key_file_refusal(path, file->mode)) {
        return refusal;
    }
    auto keys = parse_key_file(file->text, path);
    if (!keys) {
        return std::move(keys).error();
    }
    config.signing_keys.insert(config.signing_keys.end(), keys->begin(), keys->end());
    return std::nullopt;
}

} // namespace

Expected<Config, ConfigError> load_config(const std::optional<std::string>& path,
                                          const Getenv& getenv) {
    Config base;
    if (path) {
        auto parsed = read_config_file(*path);
        if (!parsed) {
            return parsed;
        }
        base = std::move(parsed).value();
    }
    auto config = apply_env(std::move(base), getenv);
    if (config && !config->signing_key_file.empty()) {
        if (auto error = add_key_file(*config)) {
            return unexpected(std::move(*error));
        }
    }
    if (config) {
        if (auto error = validate(*config)) {
            return unexpected(std::move(*error));
        }
    }
    return config;
}

std::optional<std::string> read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace leadhook::config
