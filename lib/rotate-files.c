/*
 * Rotated file names: making them, recognizing them, listing them.
 *
 * A name is recognized only when it has exactly the form rotate.h gives
 * (stem '.' YYYY-MM-DD_HH-MM-SS_ffffff ['.' counter] ext [.gz|.zst
 * [.tmp]]), so retention and the start-up clean-up can never remove a
 * file that jlog did not name, such as logrotate's app.log.1 beside it.
 * jlog__rotate_name_make() and jlog__rotate_name_match() are the pair that
 * must agree.
 */
#include "jlog-private.h"
#include "rotate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STAMP_LEN 26 /* 2026-12-02_05-40-19_123456 */

int jlog__rotate_name_init(struct jlog__rotate_name *nm, const char *path)
{
	memset(nm, 0, sizeof(*nm));
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (slash)
		nm->dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	else
		nm->dir = strdup(".");
	/* The extension is from the last dot of the base name, unless that
	 * dot starts it (".hidden" has none), as Python's splitext(). */
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base)
		dot = base + strlen(base);
	nm->stem = strndup(base, (size_t)(dot - base));
	nm->ext = strdup(dot);
	if (!nm->dir || !nm->stem || !nm->ext) {
		jlog__rotate_name_finish(nm);
		return -ENOMEM;
	}
	return 0;
}

void jlog__rotate_name_finish(struct jlog__rotate_name *nm)
{
	free(nm->dir);
	free(nm->stem);
	free(nm->ext);
	memset(nm, 0, sizeof(*nm));
}

char *jlog__rotate_name_make(const struct jlog__rotate_name *nm, uint64_t ns, unsigned n)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	if (!localtime_r(&sec, &tm))
		memset(&tm, 0, sizeof(tm));
	char counter[16] = "";
	if (n)
		snprintf(counter, sizeof(counter), ".%u", n);
	char *out = NULL;
	if (asprintf(&out, "%s/%s.%04d-%02d-%02d_%02d-%02d-%02d_%06u%s%s", nm->dir, nm->stem,
	             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	             tm.tm_sec, (unsigned)(ns % 1000000000u / 1000u), counter, nm->ext) < 0)
		return NULL;
	return out;
}

/* The timestamp's shape: digits with '-' and '_' at fixed places. */
static bool is_stamp(const char *s)
{
	static const char shape[] = "dddd-dd-dd_dd-dd-dd_dddddd";
	for (int i = 0; i < STAMP_LEN; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	}
	return true;
}

static const char *skip_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(suffix);
	return strncmp(s, suffix, n) == 0 ? s + n : NULL;
}

enum jlog__rotated_kind jlog__rotate_name_match(const struct jlog__rotate_name *nm,
                                                const char *entry)
{
	const char *p = skip_suffix(entry, nm->stem);
	if (!p || *p++ != '.' || strlen(p) < STAMP_LEN || !is_stamp(p))
		return JLOG__ROTATED_NOT;
	p += STAMP_LEN;
	/* The counter: '.' digits, but only when what follows is still the
	 * extension (with an empty extension, ".2" is the counter). */
	if (*p == '.' && isdigit((unsigned char)p[1])) {
		const char *q = p + 1;
		while (isdigit((unsigned char)*q))
			q++;
		if (skip_suffix(q, nm->ext))
			p = q;
	}
	p = skip_suffix(p, nm->ext);
	if (!p)
		return JLOG__ROTATED_NOT;
	if (*p == '\0')
		return JLOG__ROTATED_PLAIN;
	const char *q = skip_suffix(p, ".gz");
	if (!q)
		q = skip_suffix(p, ".zst");
	if (!q)
		return JLOG__ROTATED_NOT;
	if (*q == '\0')
		return JLOG__ROTATED_PACKED;
	return strcmp(q, ".tmp") == 0 ? JLOG__ROTATED_TMP : JLOG__ROTATED_NOT;
}

static int by_age(const void *a, const void *b)
{
	const struct jlog__rotated *x = a, *y = b;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns < y->mtime_ns ? -1 : 1;
	/* Same mtime: the names carry the rotation time. */
	return strcmp(x->path, y->path);
}

int jlog__rotated_list(const struct jlog__rotate_name *nm, struct jlog__rotated **out,
                       size_t *count)
{
	*out = NULL;
	*count = 0;
	DIR *d = opendir(nm->dir);
	if (!d)
		return -errno;
	struct jlog__rotated *v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		enum jlog__rotated_kind k = jlog__rotate_name_match(nm, e->d_name);
		if (k == JLOG__ROTATED_NOT)
			continue;
		char *path;
		if (asprintf(&path, "%s/%s", nm->dir, e->d_name) < 0) {
			rc = -ENOMEM;
			break;
		}
		struct stat st;
		/* lstat: a symlink or directory of that name is not a rotated
		 * file of ours. It vanishing meanwhile (another process's
		 * retention) is not an error. */
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct jlog__rotated *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				free(path);
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = (struct jlog__rotated){
			.path = path,
			.mtime = st.st_mtim.tv_sec,
			.mtime_ns = st.st_mtim.tv_nsec,
			.kind = k,
		};
	}
	closedir(d);
	if (rc) {
		jlog__rotated_free(v, n);
		return rc;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), by_age);
	*out = v;
	*count = n;
	return 0;
}

void jlog__rotated_free(struct jlog__rotated *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}
