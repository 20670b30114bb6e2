#pragma once
// A small stand-in for C++23 std::expected: a value or an error, never both.
// Expected failures (bad input, a database that went away) travel as values;
// exceptions are kept for "cannot continue".
#include <utility>
#include <variant>

namespace leadhook {

template <typename E> struct Unexpected { E error; };
template <typename E> Unexpected<E> unexpected(E e) {
    return Unexpected<E>{std::move(e)};
}

template <typename T, typename E> class Expected {
  public:
    Expected(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
    Expected(Unexpected<E> u) : m_state(std::in_place_index<1>, std::move(u.error)) {}

    [[nodiscard]] bool has_value() const noexcept { return m_state.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { return std::get<0>(m_state); }
    const T& value() const& { return std::get<0>(m_state); }
    T&& value() && { return std::get<0>(std::move(m_state)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const E& error() const& { return std::get<1>(m_state); }
    E&& error() && { return std::get<1>(std::move(m_state)); }

  private:
    std::variant<T, E> m_state;
};

} // namespace leadhook
