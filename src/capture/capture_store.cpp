#include "capture/capture_store.hpp"

#include "capture/capture_format.hpp"
#include "util/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace leadhook::capture {
namespace {

namespace fs = std::filesystem;

std::string errno_text(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

std::optional<std::string> make_private_dir(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return "cannot create " + dir + ": " + ec.message();
    }
    if (!fs::is_directory(dir, ec)) {
        return dir + " is not a directory";
    }
    // Captures carry tokens and signatures: nobody else may list or read them.
    if (::chmod(dir.c_str(), 0700) != 0) {
        return errno_text("chmod 0700 " + dir);
    }
    return std::nullopt;
}

std::optional<std::string> write_all(int fd, const std::string& data) {
    for (std::size_t done = 0; done < data.size();) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return errno_text("write");
        }
        done += static_cast<std::size_t>(n);
    }
    return std::nullopt;
}

} // namespace

Expected<std::unique_ptr<CaptureStore>, std::string> CaptureStore::open(const std::string& dir,
                                                                        CaptureLimits limits) {
    if (auto error = make_private_dir(dir)) {
        return unexpected(*error);
    }
    std::vector<File> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (entry.is_regular_file(ec) && name.ends_with(".http") && !name.starts_with(".")) {
            found.push_back({name, static_cast<long long>(entry.file_size(ec))});
        }
    }
    if (ec) {
        return unexpected("cannot list " + dir + ": " + ec.message());
    }
    std::sort(found.begin(), found.end(),
              [](const File& a, const File& b) { return a.name < b.name; });
    std::unique_ptr<CaptureStore> store(new CaptureStore(dir, limits));
    std::lock_guard lock(store->m_mutex);
    for (auto& file : found) {
        store->add_and_trim(std::move(file));
    }
    return store;
}

std::optional<std::string> CaptureStore::write(const http::Request& request) {
    const std::string name = capture_file_name(request);
    const std::string path = m_dir + "/" + name;
    const std::string temporary = m_dir + "/." + name + ".tmp";
    const std::string data = format_capture(request);
    {
        UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!fd.valid()) {
            return errno_text("create " + temporary);
        }
        if (auto error = write_all(fd.get(), data)) {
            (void)::unlink(temporary.c_str()); // best effort: a stray .tmp is ignored anyway
            return error;
        }
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        const std::string error = errno_text("rename to " + path);
        (void)::unlink(temporary.c_str());
        return error;
    }
    std::lock_guard lock(m_mutex);
    add_and_trim({name, static_cast<long long>(data.size())});
    return std::nullopt;
}

void CaptureStore::add_and_trim(File file) {
    m_bytes += file.bytes;
    m_files.push_back(std::move(file));
    while (!m_files.empty() && (static_cast<long long>(m_files.size()) > m_limits.max_files ||
                                m_bytes > m_limits.max_bytes)) {
        // Someone may have removed it by hand; the count is what matters.
        (void)::unlink((m_dir + "/" + m_files.front().name).c_str());
        m_bytes -= m_files.front().bytes;
        m_files.pop_front();
    }
}

} // namespace leadhook::capture
