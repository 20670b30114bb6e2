#pragma once
// Sole owner of a file descriptor: closed when the owner goes away, moved
// rather than copied. -1 owns nothing.
#include <unistd.h>

#include <utility>

namespace leadhook {

class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : m_fd(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset(std::exchange(other.m_fd, -1));
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const noexcept { return m_fd; }
    bool valid() const noexcept { return m_fd >= 0; }

    void reset(int fd = -1) noexcept {
        if (m_fd >= 0) {
            // close() fails only for a bad descriptor or EINTR, after which
            // Linux has released it anyway: there is nothing to retry.
            (void)::close(m_fd);
        }
        m_fd = fd;
    }

  private:
    int m_fd = -1;
};

} // namespace leadhook
