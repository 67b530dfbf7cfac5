/* Validation of the agent's result.json, and its parts of the job result. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clean.h"
#include "json.h"
#include "result.h"
#include "xmalloc.h"

static int	result_keys(struct json_object *, const char *,
		    const char *const *, char **);
static int	result_tests(struct json_object *, struct result_tests *,
		    char **);
static int	result_strings(struct json_object *, const char *,
		    const char *, size_t, size_t, char ***, size_t *, char **);
static int	result_artifacts(struct json_object *, struct result_file *,
		    char **);

/* Refuse keys of o not in the NULL-terminated list known. */
static int
result_keys(struct json_object *o, const char *where,
    const char *const *known, char **cause)
{
	size_t	i;

	json_object_object_foreach(o, key, val) {
		(void)val;
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] != NULL)
			continue;
		if (where != NULL)
			xasprintf(cause, "%s.%s: unknown field", where, key);
		else
			xasprintf(cause, "%s: unknown field", key);
		return (-1);
	}
	return (0);
}

/*
 * Copy the array of strings at where.key (optional), at most max entries
 * of 1 to len_max bytes each.
 */
static int
result_strings(struct json_object *o, const char *where, const char *key,
    size_t max, size_t len_max, char ***listp, size_t *np, char **cause)
{
	struct json_object	*a, *v;
	size_t			 i, n, len;
	int			 r;

	if ((r = json_get_array(o, where, key, J_OPTIONAL, max, &a,
	    cause)) != 1)
		return (r);
	n = json_object_array_length(a);
	*listp = xcalloc(n + 1, sizeof(**listp));
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(a, i);
		len = json_object_is_type(v, json_type_string) ?
		    (size_t)json_object_get_string_len(v) : 0;
		if (!json_object_is_type(v, json_type_string))
			xasprintf(cause, "%s%s%s[%zu]: expected a string, "
			    "got %s", where ? where : "", where ? "." : "",
			    key, i, json_type_label(v));
		else if (len == 0 || len > len_max ||
		    strlen(json_object_get_string(v)) != len)
			xasprintf(cause, "%s%s%s[%zu]: must be 1 to %zu bytes "
			    "without NULs", where ? where : "",
			    where ? "." : "", key, i, len_max);
		if (*cause != NULL)
			return (-1);
		(*listp)[i] = xstrdup(json_object_get_string(v));
		*np = i + 1;
	}
	return (0);
}

/* The tests object. */
static int
result_tests(struct json_object *t, struct result_tests *rt, char **cause)
{
	static const char *const known[] = { "command", "passed", "failed",
	    "skipped", "failures", NULL };
	const char	*cmd;

	if (result_keys(t, "tests", known, cause) == -1 ||
	    json_get_string(t, "tests", "command", J_REQUIRED | J_NONEMPTY,
	    RESULT_COMMAND_MAX, &cmd, cause) == -1 ||
	    json_get_int(t, "tests", "passed", J_REQUIRED, 0,
	    RESULT_COUNT_MAX, &rt->rt_passed, cause) == -1 ||
	    json_get_int(t, "tests", "failed", J_REQUIRED, 0,
	    RESULT_COUNT_MAX, &rt->rt_failed, cause) == -1 ||
	    json_get_int(t, "tests", "skipped", J_OPTIONAL, 0,
	    RESULT_COUNT_MAX, &rt->rt_skipped, cause) == -1)
		return (-1);
	rt->rt_command = xstrdup(cmd);
	if (result_strings(t, "tests", "failures", RESULT_FAILURES_MAX,
	    RESULT_NAME_MAX, &rt->rt_failures, &rt->rt_nfailures,
	    cause) == -1)
		return (-1);
	if ((int64_t)rt->rt_nfailures > rt->rt_failed) {
		xasprintf(cause, "tests.failures: lists %zu names but "
		    "tests.failed is %lld", rt->rt_nfailures,
		    (long long)rt->rt_failed);
		return (-1);
	}
	return (0);
}

/*
 * Normalise an artifact path: relative, inside the repo, not in .git.
 * "./a//b/" becomes "a/b".  Returns -1 with *cause saying why not.
 */
int
result_check_path(const char *path, char **out, char **cause)
{
	struct buf	 b;
	const char	*p, *e;
	size_t		 n;

	*out = NULL;
	if (path[0] == '/') {
		xasprintf(cause, "must be relative to the repo");
		return (-1);
	}
	buf_init(&b, RESULT_PATH_MAX);
	for (p = path; *p != '\0'; p = *e == '\0' ? e : e + 1) {
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.'))
			continue;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			xasprintf(cause, "must not contain \"..\"");
			goto fail;
		}
		if (buf_len(&b) == 0 && n == 4 && memcmp(p, ".git", 4) == 0) {
			xasprintf(cause, "must not point into .git");
			goto fail;
		}
		if (buf_len(&b) > 0)
			(void)buf_addc(&b, '/');
		(void)buf_add(&b, p, n);
	}
	if (buf_len(&b) == 0) {
		xasprintf(cause, "names the repo itself");
		goto fail;
	}
	*out = buf_detach(&b, NULL);
	return (0);
fail:
	buf_free(&b);
	return (-1);
}

/* The artifacts array: checked, normalised, duplicates dropped. */
static int
result_artifacts(struct json_object *o, struct result_file *rf,
    char **cause)
{
	char	**raw = NULL, *norm, *why;
	size_t	  nraw = 0, i, j;
	int	  r = 0;

	if (result_strings(o, NULL, "artifacts", RESULT_ARTIFACTS_MAX,
	    RESULT_PATH_MAX, &raw, &nraw, cause) == -1)
		r = -1;
	rf->rf_artifacts = xcalloc(nraw + 1, sizeof(*rf->rf_artifacts));
	for (i = 0; r == 0 && i < nraw; i++) {
		if (result_check_path(raw[i], &norm, &why) == -1) {
			xasprintf(cause, "artifacts[%zu]: %s", i, why);
			free(why);
			r = -1;
			break;
		}
		for (j = 0; j < rf->rf_nartifacts; j++)
			if (strcmp(rf->rf_artifacts[j], norm) == 0)
				break;
		if (j < rf->rf_nartifacts)
			free(norm);
		else
			rf->rf_artifacts[rf->rf_nartifacts++] = norm;
	}
	for (i = 0; i < nraw; i++)
		free(raw[i]);
	free(raw);
	return (r);
}

/*
 * Parse and check len bytes of result.json.  On success *rfp owns the
 * result; on failure it is NULL and *cause names the field at fault.
 */
int
result_parse(const char *data, size_t len, struct result_file **rfp,
    char **cause)
{
	static const char *const known[] = { "summary", "tests", "artifacts",
	    NULL };
	struct result_file	*rf;
	struct json_object	*o = NULL, *t;
	const char		*summary;
	char			*why = NULL;
	int			 r;

	*rfp = NULL;
	*cause = NULL;
	if (len > RESULT_FILE_MAX) {
		xasprintf(cause, "larger than %d bytes", RESULT_FILE_MAX);
		return (-1);
	}
	if ((o = json_parse(data, len, &why)) == NULL) {
		xasprintf(cause, "not valid JSON: %s", why);
		free(why);
		return (-1);
	}
	rf = xcalloc(1, sizeof(*rf));
	if (!json_object_is_type(o, json_type_object)) {
		xasprintf(cause, "expected an object, got %s",
		    json_type_label(o));
		goto fail;
	}
	if (result_keys(o, NULL, known, cause) == -1 ||
	    json_get_string(o, NULL, "summary", J_REQUIRED | J_NONEMPTY,
	    RESULT_SUMMARY_MAX, &summary, cause) == -1)
		goto fail;
	rf->rf_summary = xstrdup(summary);
	if ((r = json_get_object(o, NULL, "tests", J_OPTIONAL, &t,
	    cause)) == -1)
		goto fail;
	rf->rf_has_tests = r == 1;
	if ((r == 1 && result_tests(t, &rf->rf_tests, cause) == -1) ||
	    result_artifacts(o, rf, cause) == -1)
		goto fail;
	json_object_put(o);
	*rfp = rf;
	return (0);
fail:
	json_object_put(o);
	result_free(&rf);
	return (-1);
}

/* Free a parsed result.json; NULL the pointer. */
void
result_free(struct result_file **rfp)
{
	struct result_file	*rf = *rfp;
	size_t			 i;

	if (rf == NULL)
		return;
	free(rf->rf_summary);
	free(rf->rf_tests.rt_command);
	for (i = 0; i < rf->rf_tests.rt_nfailures; i++)
		free(rf->rf_tests.rt_failures[i]);
	free(rf->rf_tests.rt_failures);
	for (i = 0; i < rf->rf_nartifacts; i++)
		free(rf->rf_artifacts[i]);
	free(rf->rf_artifacts);
	free(rf);
	*rfp = NULL;
}

/* The summary, redacted and valid UTF-8; the caller frees it. */
char *
result_summary(const struct result_file *rf)
{
	return (clean_text(rf->rf_summary, strlen(rf->rf_summary),
	    CLEAN_NOLIMIT, 0, NULL));
}

/* The job result's "tests" part, or NULL if the agent reported none. */
struct json_object *
result_tests_json(const struct result_file *rf)
{
	const struct result_tests	*rt = &rf->rf_tests;
	struct json_object		*o, *a;
	size_t				 i;

	if (!rf->rf_has_tests)
		return (NULL);
	o = json_object_new_object();
	clean_add(o, "command", rt->rt_command, CLEAN_NOLIMIT);
	json_add_int(o, "passed", rt->rt_passed);
	json_add_int(o, "failed", rt->rt_failed);
	json_add_int(o, "skipped", rt->rt_skipped);
	a = json_object_new_array();
	for (i = 0; i < rt->rt_nfailures; i++)
		json_object_array_add(a, clean_json(rt->rt_failures[i],
		    strlen(rt->rt_failures[i]), CLEAN_NOLIMIT));
	json_object_object_add(o, "failures", a);
	json_add_string(o, "source", "agent");
	return (o);
}

/* The artifact paths, as an array of strings. */
struct json_object *
result_artifacts_json(const struct result_file *rf)
{
	struct json_object	*a;
	size_t			 i;

	a = json_object_new_array();
	for (i = 0; i < rf->rf_nartifacts; i++)
		json_object_array_add(a, clean_json(rf->rf_artifacts[i],
		    strlen(rf->rf_artifacts[i]), CLEAN_NOLIMIT));
	return (a);
}
