#include "util/one_shot.hpp"

#include <cerrno>
#include <cstdlib>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace leadhook {

namespace {

long futex(std::atomic<std::uint32_t>& word, int op, std::uint32_t value) noexcept {
    // The kernel reads the word as a u32; std::atomic<uint32_t> is one (see
    // the header's static_assert).
    return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op, value, nullptr,
                     nullptr, 0);
}

} // namespace

void OneShot::wait() noexcept {
    while (m_state.load(std::memory_order_acquire) == 0) {
        if (futex(m_state, FUTEX_WAIT_PRIVATE, 0) == -1 && errno != EAGAIN && errno != EINTR) {
            // EFAULT or EINVAL: the word is not ours; nothing sane is left.
            std::abort();
        }
    }
}

void OneShot::set() noexcept {
    m_state.store(1, std::memory_order_release);
    if (futex(m_state, FUTEX_WAKE_PRIVATE, 1) == -1) {
        std::abort(); // as above: only a bad address or operation fails
    }
}

} // namespace leadhook
