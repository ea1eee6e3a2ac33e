/* Runs the one suite this executable was built with. */
#include <check.h>
#include <stdlib.h>

#include "test-common.h"

int main(void)
{
	SRunner *sr = srunner_create(jlog_test_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
