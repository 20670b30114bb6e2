// The dispatcher on plain unix sockets, with "one line in, one line out"
// standing in for FastCGI: idle connections wait in its epoll set rather than
// in a worker, each request goes to one worker, EOF frees them, running out of descriptors pauses
// accepting without spinning, and stop() closes every connection and ends every wait.
#include "fcgi/dispatcher.hpp"
#include "support.hpp"
#include "util/clock.hpp"

#include <boost/test/unit_test.hpp>

#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_dispatcher {

using namespace leadhook;
using namespace std::chrono_literals;

namespace {

class LineConnection final : public fcgi::Connection {
  public:
    explicit LineConnection(UniqueFd fd) : m_fd(std::move(fd)) {}
    int fd() const override { return m_fd.get(); }
    std::optional<std::chrono::steady_clock::time_point> deadline() const override {
        return m_deadline;
    }
    bool lingering() const override { return m_lingering; }

    /// Answers one line with "re:" and the line; false at EOF or on an
    /// error, when the connection is done. "partial" stands for the start
    /// of a request: no answer, and 300 ms for the rest to come.
    bool serve() {
        char buf[256];
        const ssize_t got = ::read(m_fd.get(), buf, sizeof buf);
        if (got <= 0) {
            return false;
        }
        const std::string_view line(buf, static_cast<std::size_t>(got));
        if (line == "partial" || line == "linger") { // "linger": answered, waiting for EOF
            m_deadline = std::chrono::steady_clock::now() + 300ms;
            m_lingering = line == "linger";
            return true;
        }
        m_deadline.reset();
        const std::string reply = "re:" + std::string(buf, static_cast<std::size_t>(got));
        return ::write(m_fd.get(), reply.data(), reply.size()) ==
               static_cast<ssize_t>(reply.size());
    }

  private:
    UniqueFd m_fd;
    std::optional<std::chrono::steady_clock::time_point> m_deadline;
    bool m_lingering = false;
};

/// A worker as fcgi_server.cpp has one: serve, and hand back what stays open.
void work(fcgi::Dispatcher& dispatcher) {
    while (!dispatcher.stopped()) {
        fcgi::ConnectionPtr connection = dispatcher.take(50ms);
        if (connection && static_cast<LineConnection&>(*connection).serve()) {
            dispatcher.give_back(std::move(connection));
        }
    }
}

/// Open descriptors of this process.
std::size_t open_fds() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/self/fd")) {
        ++n;
    }
    return n;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds within = 3s) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

/// "re:<line>", "<eof>" or "<timeout>" after 3 s.
std::string read_reply(int fd) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, 3000) != 1) {
        return "<timeout>";
    }
    char buf[256];
    const ssize_t got = ::read(fd, buf, sizeof buf);
    return got > 0 ? std::string(buf, static_cast<std::size_t>(got)) : "<eof>";
}

std::string ask(int fd, const std::string& line) {
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        return "<write failed>";
    }
    return read_reply(fd);
}

/// CPU time `thread` has used.
double cpu_seconds(std::thread& thread) {
    clockid_t clock{};
    timespec ts{};
    if (::pthread_getcpuclockid(thread.native_handle(), &clock) != 0 ||
        ::clock_gettime(clock, &ts) != 0) {
        throw std::runtime_error("cannot read a thread's CPU clock");
    }
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// A dispatcher on an abstract unix socket, its thread and `workers` workers.
struct Harness {
    test::CapturedOutput log_out;
    FixedClock clock{1'764'000'000'000'000};
    obs::Logger log{log_out.file(), clock};
    sockaddr_un address{.sun_family = AF_UNIX, .sun_path = {}};
    socklen_t address_length = 0;
    UniqueFd listener;
    std::atomic<int> accepted{0};
    std::atomic<std::size_t> idle{0};
    std::atomic<int> overdue{0};
    std::unique_ptr<fcgi::Dispatcher> dispatcher;
    std::thread loop;
    std::vector<std::thread> workers;

    explicit Harness(int worker_count) {
        static std::atomic<int> serial{0};
        const std::string name = "leadhook-dispatcher-test-" + std::to_string(::getpid()) + "-" +
                                 std::to_string(serial++);
        name.copy(address.sun_path + 1, name.size()); // abstract: starts with a NUL byte
        address_length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
        listener = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!listener.valid() ||
            ::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), address_length) != 0 ||
            ::listen(listener.get(), 64) != 0) {
            throw std::runtime_error("cannot listen on a unix socket");
        }
        auto made = fcgi::Dispatcher::create(
            listener.get(),
            [](UniqueFd fd) { return std::make_unique<LineConnection>(std::move(fd)); },
            {.accepted = [this] { ++accepted; },
             .idle_now = [this](std::size_t n) { idle = n; },
             .overdue = [this] { ++overdue; }},
            log);
        if (!made) {
            throw std::runtime_error(made.error());
        }
        dispatcher = std::move(made).value();
        loop = std::thread([this] { dispatcher->run(); });
        for (int i = 0; i < worker_count; ++i) {
            workers.emplace_back([this] { work(*dispatcher); });
        }
    }
    ~Harness() { stop(); }
    Harness(const Harness&) = delete;
    Harness& operator=(const Harness&) = delete;

    void stop() {
        dispatcher->stop();
        if (loop.joinable()) {
            loop.join();
        }
        for (auto& w : workers) {
            if (w.joinable()) {
                w.join();
            }
        }
    }

    /// A client socket, not yet connected.
    static UniqueFd client_socket() {
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        BOOST_TEST_REQUIRE(fd.valid());
        return fd;
    }
    void connect(const UniqueFd& fd) {
        BOOST_TEST_REQUIRE(
            ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), address_length) == 0);
    }
    UniqueFd connected() {
        UniqueFd fd = client_socket();
        connect(fd);
        return fd;
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(dispatcher)

BOOST_AUTO_TEST_CASE(idle_connections_do_not_occupy_the_only_worker) {
    Harness h(1);
    std::vector<UniqueFd> idle;
    for (int i = 0; i < 10; ++i) {
        idle.push_back(h.connected());
        BOOST_TEST(ask(idle.back().get(), "a" + std::to_string(i)) == "re:a" + std::to_string(i));
    }
    UniqueFd fresh = h.connected();
    BOOST_TEST(ask(fresh.get(), "new") == "re:new");
    for (std::size_t i = 0; i < idle.size(); ++i) {
        BOOST_TEST(ask(idle[i].get(), "b") == "re:b", "connection " << i);
    }
    BOOST_TEST(h.accepted.load() == 11);
    BOOST_TEST(eventually([&] { return h.idle.load() == 11; }));
}

BOOST_AUTO_TEST_CASE(a_request_past_its_deadline_is_closed_an_idle_connection_is_not) {
    Harness h(1);
    UniqueFd stalled = h.connected();
    UniqueFd idle = h.connected();
    BOOST_TEST(ask(idle.get(), "hello") == "re:hello");
    const auto sent = std::chrono::steady_clock::now();
    BOOST_TEST(::write(stalled.get(), "partial", 7) == 7);
    BOOST_TEST(read_reply(stalled.get()) == "<eof>"); // closed, unanswered
    BOOST_TEST((std::chrono::steady_clock::now() - sent < 2s));
    BOOST_TEST(h.overdue.load() == 1);
    BOOST_TEST(ask(idle.get(), "still") == "re:still"); // no deadline between requests
    BOOST_TEST(test::contains(h.log_out.text(),
                              "closed connections whose request did not arrive in time"));
    UniqueFd lingering = h.connected();
    BOOST_TEST(::write(lingering.get(), "linger", 6) == 6);
    BOOST_TEST(read_reply(lingering.get()) == "<eof>"); // closed at its deadline too...
    BOOST_TEST(h.overdue.load() == 1);                  // ...but no request was overdue
}

BOOST_AUTO_TEST_CASE(a_connection_that_sends_nothing_holds_up_no_worker) {
    Harness h(1);
    UniqueFd silent = h.connected();
    UniqueFd talking = h.connected();
    BOOST_TEST(ask(talking.get(), "hello") == "re:hello");
    BOOST_TEST(ask(silent.get(), "late") == "re:late");
}

BOOST_AUTO_TEST_CASE(eof_on_an_idle_connection_frees_it) {
    Harness h(2);
    const std::size_t baseline = open_fds();
    for (int i = 0; i < 20; ++i) {
        UniqueFd client = h.connected();
        if (i % 2 == 0) {
            BOOST_TEST(ask(client.get(), "x") == "re:x"); // else: EOF before any request
        }
    }
    BOOST_TEST(eventually([&] { return h.accepted.load() == 20; }));
    BOOST_TEST(eventually([&] { return open_fds() == baseline; }),
               "open fds: " << open_fds() << ", baseline " << baseline);
    BOOST_TEST(eventually([&] { return h.idle.load() == 0; }));
}

BOOST_AUTO_TEST_CASE(each_request_goes_to_exactly_one_of_many_workers) {
    // Eight workers wait on the one epoll set: every request on every
    // connection is answered once and right, and each connection goes back
    // to waiting. A connection handed to two workers would have one of them
    // block on the emptied socket or answer a line twice.
    Harness h(8);
    constexpr int clients_per_thread = 8;
    constexpr int rounds = 40;
    std::atomic<int> right{0};
    std::vector<std::vector<UniqueFd>> open(4); // open until the end: idle, not closed
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        auto& clients = open[static_cast<std::size_t>(t)];
        for (int c = 0; c < clients_per_thread; ++c) {
            clients.push_back(h.connected());
        }
        threads.emplace_back([&, t] {
            for (int r = 0; r < rounds; ++r) {
                for (int c = 0; c < clients_per_thread; ++c) {
                    const std::string line =
                        std::to_string(t) + "." + std::to_string(c) + "." + std::to_string(r);
                    if (ask(clients[static_cast<std::size_t>(c)].get(), line) == "re:" + line) {
                        ++right;
                    }
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    BOOST_TEST(right.load() == 4 * clients_per_thread * rounds);
    BOOST_TEST(h.accepted.load() == 4 * clients_per_thread);
    BOOST_TEST(eventually([&] { return h.idle.load() == 4u * clients_per_thread; }));
}

BOOST_AUTO_TEST_CASE(stop_closes_idle_connections_and_ends_every_wait) {
    const std::size_t baseline = open_fds();
    {
        Harness h(2);
        std::vector<UniqueFd> clients;
        for (int i = 0; i < 3; ++i) {
            clients.push_back(h.connected());
            BOOST_TEST(ask(clients.back().get(), "x") == "re:x");
        }
        BOOST_TEST(eventually([&] { return h.idle.load() == 3; }));
        std::atomic<bool> waiting_returned{false};
        std::thread waiter([&] {
            BOOST_TEST(!h.dispatcher->take(10s)); // a worker with nothing to do
            waiting_returned = true;
        });
        std::this_thread::sleep_for(20ms);
        const auto start = std::chrono::steady_clock::now();
        h.stop();
        waiter.join();
        BOOST_TEST((std::chrono::steady_clock::now() - start < 1s));
        BOOST_TEST(waiting_returned.load());
        BOOST_TEST(h.idle.load() == 0u);
        for (const auto& client : clients) {
            BOOST_TEST(read_reply(client.get()) == "<eof>");
        }
        BOOST_TEST(!h.dispatcher->take(0ms));
    }
    BOOST_TEST(open_fds() == baseline);
}

BOOST_AUTO_TEST_CASE(a_connection_handed_back_after_stop_is_closed) {
    Harness h(0); // the test is the worker
    UniqueFd client = h.connected();
    const std::string line = "in flight";
    BOOST_TEST_REQUIRE(::write(client.get(), line.data(), line.size()) ==
                       static_cast<ssize_t>(line.size()));
    fcgi::ConnectionPtr connection = h.dispatcher->take(3s);
    BOOST_TEST_REQUIRE(static_cast<bool>(connection));
    h.stop(); // while the request is in flight
    BOOST_TEST(static_cast<LineConnection&>(*connection).serve());
    h.dispatcher->give_back(std::move(connection));
    BOOST_TEST(read_reply(client.get()) == "re:in flight"); // answered, then closed
    BOOST_TEST(read_reply(client.get()) == "<eof>");
}

// Not under the sanitizers (-DLEADHOOK_SANITIZE=ON): clang's UBSan checks a
// virtual call's dynamic type by writing the object into a pipe, and with no
// descriptor left it reports the logger's clock as an invalid object.
boost::test_tools::assertion_result not_sanitized(boost::unit_test::test_unit_id) {
#ifdef LEADHOOK_SANITIZED
    boost::test_tools::assertion_result skip(false);
    skip.message() << "built with -DLEADHOOK_SANITIZE=ON";
    return skip;
#else
    return true;
#endif
}

BOOST_AUTO_TEST_CASE(running_out_of_descriptors_pauses_accepting_without_spinning,
                     *boost::unit_test::precondition(not_sanitized)) {
    Harness h(1);
    std::vector<UniqueFd> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(Harness::client_socket()); // descriptors taken while allowed
    }
    int highest = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        highest = std::max(highest, std::stoi(entry.path().filename().string()));
    }
    rlimit saved{};
    BOOST_TEST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rlimit tight = saved;
    tight.rlim_cur = static_cast<rlim_t>(highest) + 1;
    BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
    std::vector<UniqueFd> fillers; // take the free numbers below the limit too
    for (UniqueFd fd; (fd = UniqueFd(::dup(h.listener.get()))).valid();) {
        fillers.push_back(std::move(fd));
    }
    const double cpu_before = cpu_seconds(h.loop);
    for (const auto& client : clients) {
        h.connect(client); // queued in the backlog; accept4() gets EMFILE
    }
    std::this_thread::sleep_for(400ms);
    // Spinning, the dispatcher thread would use most of the 0.4 s (0.16 s
    // or more even on a busy machine); resting, well under a millisecond.
    const double cpu_used = cpu_seconds(h.loop) - cpu_before;
    const int accepted = h.accepted.load();
    fillers.clear();
    BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
    BOOST_TEST(cpu_used < 0.05, "CPU seconds while accept4() failed: " << cpu_used);
    BOOST_TEST(accepted == 0);
    for (const auto& client : clients) {
        BOOST_TEST(ask(client.get(), "ok") == "re:ok");
    }
    const std::string log = h.log_out.text();
    const auto count = [&](const std::string& text) {
        std::size_t n = 0;
        for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) {
            ++n;
        }
        return n;
    };
    BOOST_TEST(count("cannot accept connections") == 1u, log);
    BOOST_TEST(count("Too many open files") == 1u, log);
    BOOST_TEST(count("accepting connections again") == 1u, log);
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_dispatcher
