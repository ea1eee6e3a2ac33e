/* Runs the one suite this executable was built with. */
#include <check.h>
#include <stdlib.h>

#include "test-common.h"

int main(void)
{
	/* Check's default of 4 s per test (for test cases that set none) is
	 * a timing assertion on a shared 2-core machine: a test that takes
	 * 2.5 s alone timed out under a load of 13. Tests that hang are still
	 * stopped, by this and by meson's per-suite timeout. tcase_create()
	 * reads it, so it is set before the suite is built; the environment
	 * still wins. */
	setenv("CK_DEFAULT_TIMEOUT", "60", 0);
	SRunner *sr = srunner_create(jlog_test_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
