/*
 * jlog-config - review a jlog configuration document without running the
 * service.
 *
 *   jlog-config check app.json   exit 0 when jlog_open_config() would
 *                                accept it, else 1 with every error
 *   jlog-config show app.json    the effective configuration as JSON
 *
 * Both use the library's own parser and checks (lib/config.c), so the
 * messages are exactly jlog_open_config()'s, with the key path
 * ("sinks[1].preset: unknown preset \"elk\""); neither opens a sink's
 * file or socket nor starts a thread. A document given as "-" is read
 * from standard input.
 */
#include "jlog-private.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
	        "usage: %s check [--env] FILE\n"
	        "       %s show [--no-env] FILE\n"
	        "\n"
	        "Review a jlog configuration document (a path, \"-\" for standard\n"
	        "input, or the JSON text itself) without opening its sinks.\n"
	        "\n"
	        "  check   validate FILE as jlog_open_config() does: exit 0 when it\n"
	        "          is valid, 1 with the error and its key path when not\n"
	        "  show    print the effective configuration as JSON: every key\n"
	        "          with its value, the defaults filled in, and the\n"
	        "          environment's overrides of the default logger applied\n"
	        "          (JLOG_LEVEL, JLOG_SINK, JLOG_FORMAT, JLOG_SERIALIZE,\n"
	        "          JLOG_COLORIZE)\n"
	        "\n"
	        "  --env     check: apply those overrides before checking\n"
	        "  --no-env  show: do not apply them\n"
	        "  --help    this text\n"
	        "\n"
	        "Exit status: 0 valid, 1 invalid, 2 usage error or FILE unreadable.\n",
	        prog, prog);
}

static json_t *read_stdin(char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		snprintf(err, errlen, "-: invalid JSON at line %d, column %d: %s", je.line, je.column,
		         je.text);
	return doc;
}

/*
 * The parser stops at the first error. To report every one, the key an
 * error names is taken out of a copy of the document (a sink or a list
 * element is replaced by a neutral value, so that later indexes keep
 * their meaning) and the copy is checked again, until it passes or an
 * error names nothing that can be taken out.
 */
/* The key path an error message starts with ("sinks[0].level: ..."), in
 * @path; false when it names none. */
static bool error_path(const char *msg, char *path, size_t cap)
{
	const char *colon = strstr(msg, ": ");
	if (!colon || colon == msg)
		return false;
	size_t n = (size_t)(colon - msg);
	if (n >= cap || memchr(msg, ' ', n))
		return false;
	memcpy(path, msg, n);
	path[n] = '\0';
	return true;
}

/* Whether @outer is @inner or holds it ("rate_limit" holds
 * "rate_limit.per_second", "levels[0]" holds "levels[0].no"). */
static bool path_holds(const char *outer, const char *inner)
{
	size_t n = strlen(outer);
	return !strncmp(outer, inner, n) &&
	       (inner[n] == '\0' || inner[n] == '.' || inner[n] == '[');
}

static bool drop_path(json_t *doc, const char *msg)
{
	char path[256];
	if (!error_path(msg, path, sizeof(path)))
		return false;
	json_t *parent = NULL, *node = doc;
	const char *at = path;
	char key[256] = "";
	bool by_key = false;
	size_t index = 0;
	while (*at) {
		parent = node;
		if (*at == '[') {
			char *end;
			index = strtoul(at + 1, &end, 10);
			if (*end != ']' || !json_is_array(node))
				return false;
			node = json_array_get(node, index);
			at = end + 1;
			by_key = false;
		} else {
			if (*at == '.')
				at++;
			if (!json_is_object(node))
				return false;
			/* A module name may hold dots: the whole rest first. */
			size_t k = json_object_get(node, at) ? strlen(at) : strcspn(at, ".[");
			snprintf(key, sizeof(key), "%.*s", (int)k, at);
			node = json_object_get(node, key);
			at += k;
			by_key = true;
		}
		if (!node)
			return false;
	}
	if (!parent)
		return false;
	if (by_key)
		return json_object_del(parent, key) == 0;
	if (json_is_array(parent)) {
		/* A sink becomes the default one, a list element a pattern
		 * nothing is named. */
		json_t *neutral = json_is_object(node) ? json_object() : json_string("-");
		return json_array_set_new(parent, index, neutral) == 0;
	}
	return false;
}

/* Take the list that element @path ("levels[0]") is in out of @doc. */
static bool drop_list_of(json_t *doc, const char *path)
{
	const char *bracket = strrchr(path, '[');
	if (!bracket || bracket == path || bracket[strlen(bracket) - 1] != ']')
		return false;
	char msg[300];
	snprintf(msg, sizeof(msg), "%.*s: ", (int)(bracket - path), path);
	return drop_path(doc, msg);
}

/*
 * An error about the object or element a key was taken out of ("rate_limit:
 * \"per_second\" is required" after rate_limit.per_second was) is what
 * taking it out did, not an error of the document: it is not reported, and
 * the object goes the same way, so that the errors after it are still found.
 */
#define MAX_ROUNDS 100
static int check_all(const json_t *doc, const char *file)
{
	char err[512] = "", prev[512] = "";
	static char dropped[MAX_ROUNDS][256];
	int ndropped = 0;
	json_t *copy = json_deep_copy(doc);
	int rc = 0, status = 0;
	bool was_consequence = false;
	for (int round = 0; copy && round < MAX_ROUNDS; round++) {
		rc = jlog__config_check(copy, err, sizeof(err));
		if (rc == 0)
			break;
		char path[256];
		bool has_path = error_path(err, path, sizeof(path));
		if (!strcmp(err, prev)) {
			/* The neutral element put in place of a list element is
			 * no better ("levels[0]: a level needs ..."): the list
			 * goes, so that the keys after it are still checked. */
			if (!was_consequence || !has_path || !drop_list_of(copy, path))
				break;
			continue;
		}
		bool consequence = false;
		for (int i = 0; has_path && i < ndropped && !consequence; i++)
			consequence = path_holds(path, dropped[i]);
		was_consequence = consequence;
		if (!consequence) {
			fprintf(stderr, "%s: %s\n", file, *err ? err : jlog_strerror(rc));
			status = rc == -EINVAL ? 1 : 2;
		}
		snprintf(prev, sizeof(prev), "%s", err);
		if (rc != -EINVAL || !drop_path(copy, err))
			break;
		if (has_path)
			snprintf(dropped[ndropped++], sizeof(dropped[0]), "%s", path);
	}
	json_decref(copy);
	if (status == 0)
		printf("%s: valid\n", file);
	return status;
}

int main(int argc, char **argv)
{
	const char *prog = "jlog-config";
	const char *cmd = NULL, *file = NULL;
	bool env = false, no_env = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout, prog);
			return 0;
		} else if (!strcmp(a, "--env")) {
			env = true;
		} else if (!strcmp(a, "--no-env")) {
			no_env = true;
		} else if (a[0] == '-' && a[1] && strcmp(a, "-") != 0) {
			fprintf(stderr, "%s: unknown option %s\n", prog, a);
			usage(stderr, prog);
			return 2;
		} else if (!cmd) {
			cmd = a;
		} else if (!file) {
			file = a;
		} else {
			fprintf(stderr, "%s: too many arguments\n", prog);
			return 2;
		}
	}
	bool show = cmd && !strcmp(cmd, "show");
	if (!cmd || (!show && strcmp(cmd, "check") != 0) || !file || (show && env) ||
	    (!show && no_env)) {
		usage(stderr, prog);
		return 2;
	}
	char err[512] = "";
	int rc = 0;
	json_t *doc = !strcmp(file, "-") ? read_stdin(err, sizeof(err))
	                                  : jlog__config_load(file, &rc, err, sizeof(err));
	if (!doc) {
		/* Not JSON: invalid (1); not readable: 2. */
		fprintf(stderr, "%s\n", err);
		return rc == 0 || rc == -EINVAL ? 1 : 2;
	}
	/* A document that is not an object: the parser says so, with the
	 * words of jlog_open_config(). */
	if (json_is_object(doc) && (show ? !no_env : env))
		jlog__config_env_overrides(doc);
	int status;
	if (show) {
		json_t *eff = jlog__config_effective(doc, &rc, err, sizeof(err));
		if (eff) {
			char *text = json_dumps(eff, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			if (text)
				printf("%s\n", text);
			free(text);
			json_decref(eff);
			status = text ? 0 : 2;
		} else {
			fprintf(stderr, "%s: %s\n", file, *err ? err : jlog_strerror(rc));
			status = rc == -EINVAL ? 1 : 2;
		}
	} else {
		status = check_all(doc, file);
	}
	json_decref(doc);
	return status;
}
