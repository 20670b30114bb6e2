#pragma once
// A bound on request bytes held at once, across every connection: bodies are
// admitted by their declared length before a byte of them is read, so a burst
// of large uploads costs at most this much, and the rest are told to come
// back later (503 with Retry-After, which Mailgun retries).
#include <atomic>
#include <cstddef>
#include <optional>
#include <utility>

namespace leadhook::fcgi {

class ByteBudget {
  public:
    explicit ByteBudget(std::size_t limit) : m_limit(limit) {}
    ByteBudget(const ByteBudget&) = delete;
    ByteBudget& operator=(const ByteBudget&) = delete;

    /// Holds `bytes` of the budget while it lives; empty when they did not fit.
    class Hold {
      public:
        Hold() = default;
        Hold(Hold&& other) noexcept
            : m_budget(std::exchange(other.m_budget, nullptr)), m_bytes(other.m_bytes) {}
        Hold& operator=(Hold&& other) noexcept {
            if (this != &other) {
                release();
                m_budget = std::exchange(other.m_budget, nullptr);
                m_bytes = other.m_bytes;
            }
            return *this;
        }
        Hold(const Hold&) = delete;
        Hold& operator=(const Hold&) = delete;
        ~Hold() { release(); }

        std::size_t bytes() const { return m_budget ? m_bytes : 0; }
        void release() noexcept {
            if (m_budget != nullptr) {
                m_budget->m_used.fetch_sub(m_bytes, std::memory_order_relaxed);
                m_budget = nullptr;
            }
        }

      private:
        friend class ByteBudget;
        Hold(ByteBudget* budget, std::size_t bytes) : m_budget(budget), m_bytes(bytes) {}
        ByteBudget* m_budget = nullptr;
        std::size_t m_bytes = 0;
    };

    /// `bytes` of the budget, if that many are free; a zero-byte hold always fits.
    std::optional<Hold> take(std::size_t bytes) {
        std::size_t used = m_used.load(std::memory_order_relaxed);
        do {
            if (bytes > m_limit - used) {
                return std::nullopt;
            }
        } while (!m_used.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
        return Hold(this, bytes);
    }

  private:
    const std::size_t m_limit;
    std::atomic<std::size_t> m_used{0};
};

} // namespace leadhook::fcgi
