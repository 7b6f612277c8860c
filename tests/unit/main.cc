// Unit tests run with a real EAL in no-hugepage mode, so packet tests use real
// mbufs from a real mempool.
#include <gtest/gtest.h>
#include <rte_eal.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* eal[] = {"unit_tests", "--no-huge", "-m", "256", "--no-pci", "--no-shconf", "-l", "0",
                       "--log-level", "lib.eal:error"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) {
    fprintf(stderr, "EAL init failed\n");
    return 1;
  }
  const int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}
