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
 * error names nothing that can be taken out (check_all(), below).
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

/*
 * Finding every error. The parser stops at the first; check_all() takes
 * the key it names out of a copy (drop_path()) and checks again. What
 * taking a key out causes is not an error of the document, and is not
 * reported (consequence()): an error about the object the key was in
 * ("rate_limit: \"per_second\" is required"), or about a key beside it
 * that names it ("redact.mode: \"hash\" needs hash_key_file ..."). A list
 * element whose neutral stand-in is refused too ("levels[0]: a level
 * needs ...", a detector "-") is taken out of its list, and the indexes
 * of the errors after it are given as the document has them.
 */
#define MAX_ROUNDS 100
#define PATH_MAX_LEN 256

struct removal {
	char list[PATH_MAX_LEN]; /* the list's path, as the copy had it then */
	unsigned long index;
};

struct search {
	char dropped[MAX_ROUNDS][PATH_MAX_LEN]; /* in the copy's indexes */
	int ndropped;
	struct removal removed[MAX_ROUNDS];
	int nremoved;
};

/* The index of element @path of list @list ("sinks" and "sinks[2]..."),
 * with *end after its ']'; false when @path is not in that list. */
static bool element_of(const char *path, const char *list, unsigned long *index,
                       const char **end)
{
	size_t n = strlen(list);
	if (strncmp(path, list, n) != 0 || path[n] != '[')
		return false;
	char *e;
	*index = strtoul(path + n + 1, &e, 10);
	if (*e != ']')
		return false;
	*end = e + 1;
	return true;
}

/* In @path (@cap bytes), the index of the element of the list whose path
 * is its first @n bytes becomes @k; @rest is what follows the element
 * (in @path itself). Left as it is when the result would not fit. */
static void set_index(char *path, size_t cap, size_t n, unsigned long k, const char *rest)
{
	char out[2 * PATH_MAX_LEN + 32];
	snprintf(out, sizeof(out), "%.*s[%lu]%s", (int)n, path, k, rest);
	size_t len = strlen(out);
	if (len < cap)
		memcpy(path, out, len + 1);
}

/* @path of the copy as the document has it: the elements taken out of
 * its lists put back, the latest first. */
static void document_path(const struct search *sr, const char *path, char *out, size_t cap)
{
	snprintf(out, cap, "%s", path);
	for (int r = sr->nremoved - 1; r >= 0; r--) {
		unsigned long k;
		const char *end;
		if (!element_of(out, sr->removed[r].list, &k, &end))
			continue;
		set_index(out, cap, strlen(sr->removed[r].list),
		          k >= sr->removed[r].index ? k + 1 : k, end);
	}
}

/* The length of @path's parent ("redact" of "redact.mode"), and its last
 * key in *key (NULL when the last part is an index). */
static size_t parent_of(const char *path, const char **key)
{
	const char *dot = strrchr(path, '.'), *br = strrchr(path, '[');
	if (br && (!dot || br > dot)) {
		*key = NULL;
		return (size_t)(br - path);
	}
	*key = dot ? dot + 1 : path;
	return dot ? (size_t)(dot - path) : 0;
}

/* Whether error @msg at @path is what taking a key out caused. */
static bool consequence(const struct search *sr, const char *path, const char *msg)
{
	const char *ekey;
	size_t eparent = parent_of(path, &ekey);
	for (int i = 0; i < sr->ndropped; i++) {
		const char *d = sr->dropped[i];
		if (!*d)
			continue;
		if (path_holds(path, d))
			return true;
		const char *dkey;
		size_t dparent = parent_of(d, &dkey);
		if (dkey && eparent == dparent && !strncmp(path, d, dparent) &&
		    strstr(msg + strlen(path), dkey))
			return true;
	}
	return false;
}

/* Take element @path ("levels[0]") out of its list in @doc. */
static bool remove_element(struct search *sr, json_t *doc, const char *path)
{
	const char *br = strrchr(path, '[');
	if (!br || br == path || sr->nremoved >= MAX_ROUNDS)
		return false;
	char list[PATH_MAX_LEN];
	snprintf(list, sizeof(list), "%.*s", (int)(br - path), path);
	unsigned long index;
	const char *end;
	if (!element_of(path, list, &index, &end) || *end)
		return false;
	/* The list itself: its parent's member (or the document's). */
	char msg[PATH_MAX_LEN + 4];
	snprintf(msg, sizeof(msg), "%s: ", list);
	json_t *node = doc;
	for (const char *at = list; *at && node;) {
		if (*at == '.')
			at++;
		if (*at == '[') {
			char *e;
			node = json_array_get(node, strtoul(at + 1, &e, 10));
			at = *e == ']' ? e + 1 : e;
			continue;
		}
		size_t k = json_object_get(node, at) ? strlen(at) : strcspn(at, ".[");
		char key[PATH_MAX_LEN];
		snprintf(key, sizeof(key), "%.*s", (int)k, at);
		node = json_object_get(node, key);
		at += k;
	}
	if (!json_is_array(node) || json_array_remove(node, index) != 0)
		return false;
	/* The keys taken out below it are gone; those of the elements
	 * after it move down one. */
	for (int i = 0; i < sr->ndropped; i++) {
		unsigned long k;
		const char *rest;
		if (!element_of(sr->dropped[i], list, &k, &rest))
			continue;
		if (k == index) {
			sr->dropped[i][0] = '\0';
		} else if (k > index) {
			set_index(sr->dropped[i], PATH_MAX_LEN, strlen(list), k - 1, rest);
		}
	}
	struct removal *r = &sr->removed[sr->nremoved++];
	snprintf(r->list, sizeof(r->list), "%s", list);
	r->index = index;
	return true;
}

static int check_all(const json_t *doc, const char *file)
{
	char err[512] = "", prev[512] = "";
	static struct search sr;
	memset(&sr, 0, sizeof(sr));
	json_t *copy = json_deep_copy(doc);
	int rc = 0, status = 0;
	bool was_consequence = false;
	for (int round = 0; copy && round < MAX_ROUNDS; round++) {
		rc = jlog__config_check(copy, err, sizeof(err));
		if (rc == 0)
			break;
		char path[PATH_MAX_LEN];
		bool has_path = error_path(err, path, sizeof(path));
		if (!strcmp(err, prev)) {
			/* The neutral stand-in is refused as well: the element
			 * goes, so that the rest is still checked. */
			if (!was_consequence || !has_path || !remove_element(&sr, copy, path))
				break;
			prev[0] = '\0';
			continue;
		}
		was_consequence = has_path && consequence(&sr, path, err);
		if (!was_consequence) {
			if (has_path) {
				char dpath[PATH_MAX_LEN];
				document_path(&sr, path, dpath, sizeof(dpath));
				fprintf(stderr, "%s: %s%s\n", file, dpath, err + strlen(path));
			} else {
				fprintf(stderr, "%s: %s\n", file, *err ? err : jlog_strerror(rc));
			}
			status = rc == -EINVAL ? 1 : 2;
		}
		snprintf(prev, sizeof(prev), "%s", err);
		if (rc != -EINVAL || !drop_path(copy, err))
			break;
		if (has_path)
			snprintf(sr.dropped[sr.ndropped++], PATH_MAX_LEN, "%s", path);
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
