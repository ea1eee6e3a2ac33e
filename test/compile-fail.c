/*
 * A log call given something that is not a field (compile-fail.sh): the
 * build must fail, and the diagnostics must say how fields are built.
 * With -DJLOG_COMPILE_OK the same calls are written correctly and must
 * compile, so a failure is known to come from the misuse alone. Compiled
 * as C and as C++.
 */
#include <jlog.h>

#ifdef JLOG_COMPILE_OK
#define FIELD JLOG_INT("n", 42)
#else
#define FIELD 42
#endif

void misuse(jlog_logger *log);

void misuse(jlog_logger *log)
{
	JLOG_INFO(log, "m", FIELD);
}
