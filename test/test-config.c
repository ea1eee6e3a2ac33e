/*
 * Configuration: JSON documents (inline and files), their error messages
 * with key paths, custom levels, and the default logger's environment.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <errno.h>
#include <sys/wait.h>

static void expect_error(const char *doc, const char *message)
{
	char err[512];
	jlog_logger *lg = (jlog_logger *)0x1;
	int rc = jlog_open_config_err(&lg, doc, err, sizeof(err));
	ck_assert_msg(rc < 0, "accepted: %s", doc);
	ck_assert_ptr_null(lg);
	ck_assert_msg(strstr(err, message) != NULL, "error \"%s\" lacks \"%s\"", err, message);
}

START_TEST(test_errors_name_the_key)
{
	expect_error("{\"sinks\":[{\"sink\":\"stderr\"},{\"sink\":\"stderr\",\"preset\":\"elk\"}]}",
	             "sinks[1].preset: unknown preset \"elk\"");
	expect_error("{\"level\":\"LOUD\"}", "level: unknown level \"LOUD\"");
	expect_error("{\"level\":true}", "level: expected a level name or number, got a boolean");
	expect_error("{\"queue_size\":\"big\"}", "queue_size: expected an integer, got a string");
	expect_error("{\"queue_size\":10}", "queue_size: 10 is out of range");
	expect_error("{\"colour\":1}", "colour: unknown key");
	expect_error("{\"sinks\":[{\"sink\":\"stderr\",\"colour\":true}]}",
	             "sinks[0].colour: unknown key");
	expect_error("{\"sinks\":[{\"serialize\":\"yes\"}]}",
	             "sinks[0].serialize: expected true or false, got a string");
	expect_error("{\"sinks\":{}}", "sinks: expected an array, got an object");
	expect_error("{\"overflow\":\"spill\"}", "overflow: expected \"block\" or \"drop\"");
	expect_error("{\"modules\":{\"db\":\"LOUD\"}}", "modules.db: unknown level \"LOUD\"");
	expect_error("{\"sinks\":[{\"time_format\":\"iso\"}]}",
	             "sinks[0].time_format: unknown time format \"iso\"");
	expect_error("{\"level\":", "invalid JSON");
	expect_error("[1,2]", "[1,2]: no such file"); /* not starting with '{': a path */
	expect_error("{\"sinks\":[{\"sink\":\"/nonexistent-dir/x.log\"}]}", "sinks[0]");
	expect_error("/nonexistent-dir/config.json", "no such file or directory");

	/* The two-argument form keeps the message for jlog_last_error(). */
	jlog_logger *lg;
	ck_assert_int_eq(jlog_open_config(&lg, "{\"level\":\"LOUD\"}"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "level: unknown level \"LOUD\""));
}
END_TEST

START_TEST(test_config_file_two_sinks)
{
	char *json_path = tc_tmppath("a.jsonl");
	char *ecs_path = tc_tmppath("b.jsonl");
	char *cfg_path = tc_tmppath("config.json");
	FILE *f = fopen(cfg_path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
	        "{\"level\":\"DEBUG\",\"overflow\":\"block\",\"queue_size\":1048576,"
	        " \"modules\":{\"db\":\"WARNING\"},"
	        " \"sinks\":[{\"sink\":\"%s\",\"level\":\"INFO\"},"
	        "            {\"sink\":\"%s\",\"serialize\":true,\"preset\":\"ecs\"}]}",
	        json_path, ecs_path);
	fclose(f);

	jlog_logger *lg;
	ck_assert_int_eq(jlog_open_config(&lg, cfg_path), 0);
	ck_assert_int_eq(jlog_get_level(lg), JLOG_LEVEL_DEBUG);
	jlog_logger *db = jlog_named(lg, "db");
	ck_assert_int_eq(jlog_get_level(db), JLOG_LEVEL_WARNING);
	JLOG_DEBUG(lg, "debug only in the second");
	JLOG_INFO(lg, "info in both", JLOG_INT("n", 1));
	JLOG_INFO(db, "filtered by the module level");
	jlog_close(db);
	jlog_close(lg);

	size_t n;
	json_t **l = tc_parse_file(json_path, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(json_string_value(json_object_get(l[0], "message")), "info in both");
	tc_free_lines(l, n);
	l = tc_parse_file(ecs_path, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_nonnull(json_object_get(l[0], "@timestamp"));
	ck_assert_str_eq(json_string_value(json_object_get(l[0], "log.level")), "debug");
	ck_assert_str_eq(json_string_value(json_object_get(l[1], "message")), "info in both");
	tc_free_lines(l, n);
	free(json_path);
	free(ecs_path);
	free(cfg_path);
}
END_TEST


/* The default logger reads JLOG_CONFIG, then the overrides. */
START_TEST(test_default_logger_environment)
{
	char *cfg = tc_tmppath("env.json");
	char *out = tc_tmppath("env.log");
	FILE *f = fopen(cfg, "w");
	fprintf(f, "{\"level\":\"ERROR\",\"sinks\":[{\"sink\":\"/nonexistent-dir/never.log\"}]}");
	fclose(f);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setenv("JLOG_CONFIG", cfg, 1);
		setenv("JLOG_LEVEL", "info", 1);   /* overrides ERROR */
		setenv("JLOG_SINK", out, 1);       /* overrides the sink path */
		setenv("JLOG_FORMAT", "{level}|{message}", 1); /* text */
		setenv("JLOG_COLORIZE", "0", 1);
		JLOG_DEBUG(NULL, "filtered");
		JLOG_INFO(NULL, "hello", JLOG_INT("n", 5));
		exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char *text = tc_slurp(out, NULL);
	ck_assert_str_eq(text, "INFO|hello n=5\n");
	free(text);
	free(cfg);
	free(out);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, test_errors_name_the_key);
	tcase_add_test(tc, test_config_file_two_sinks);
	tcase_add_test(tc, test_default_logger_environment);
	suite_add_tcase(s, tc);
	return s;
}
