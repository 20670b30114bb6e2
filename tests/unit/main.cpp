// The unit-test runner for the pure core. Each tests/unit/test_<topic>.cpp
// holds one BOOST_AUTO_TEST_SUITE(<topic>) so ctest can run topics separately.
#define BOOST_TEST_MODULE leadhook_unit
#include <boost/test/unit_test.hpp>
