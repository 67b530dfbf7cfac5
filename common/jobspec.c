/* The job-spec model: parsing, validation, serialisation. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "jobspec.h"
#include "xmalloc.h"

static const struct {
	const char	*name;
	const char	*skill;
	const char	*summary;
} job_types[JOB_TYPE_MAX] = {
	[JOB_BOOTSTRAP] = { "bootstrap", "bootstrap-repo",
	    "Set the repository up so that it builds and its tests run." },
	[JOB_FIX_TESTS] = { "fix-tests", "run-and-fix-tests",
	    "Run the test suite and fix the code until it passes." },
	[JOB_REFACTOR] = { "refactor", "refactor-and-verify",
	    "Refactor as instructed and verify that behaviour is kept." },
	[JOB_EXPERIMENT] = { "experiment", "run-data-experiment",
	    "Run the data experiment described and keep its outputs." },
	[JOB_CUSTOM] = { "custom", "report-result",
	    "Follow the instructions given." },
};

static const char *job_states[JOB_STATE_MAX] = {
	[JOB_QUEUED] = "queued", [JOB_STARTING] = "starting",
	[JOB_PROVISIONING] = "provisioning", [JOB_INJECTING] = "injecting",
	[JOB_FETCHING_REPO] = "fetching_repo", [JOB_RUNNING] = "running",
	[JOB_COLLECTING] = "collecting", [JOB_SUCCEEDED] = "succeeded",
	[JOB_FAILED] = "failed", [JOB_CANCELLED] = "cancelled",
	[JOB_TIMED_OUT] = "timed_out", [JOB_CRASHED] = "crashed",
	[JOB_INTERRUPTED] = "interrupted",
};

/* Environment names a job may not set: they belong to skillbox. */
static const char *env_reserved[] = {
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "IS_SANDBOX",
	"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL",
	"CLAUDE_CONFIG_DIR", "LD_PRELOAD", "LD_LIBRARY_PATH",
};
static const char *env_reserved_prefixes[] = { "E2B_", "SKILLBOX_", "GIT_" };

static int	parse_type(struct json_object *, struct jobspec *, char **);
static int	parse_repo(struct json_object *, struct jobspec *, char **);
static int	parse_env(struct json_object *, struct jobspec *, char **);
static int	parse_artifacts(struct json_object *, struct jobspec *,
		    char **);
static int	parse_scalars(struct json_object *, struct jobspec *,
		    char **);
static int	check_url(const char *, char **);
static int	check_ref(const char *, char **);
static int	check_env_name(const char *, char **);
static int	check_glob(const char *, char **);
static int	check_printable(const char *, const char *, char **);
static char	*dup_opt(const char *);

const char *
jobspec_type_name(enum job_type t)
{
	return (t < JOB_TYPE_MAX ? job_types[t].name : "unknown");
}

/* The skill that leads a job of this type. */
const char *
jobspec_type_skill(enum job_type t)
{
	return (t < JOB_TYPE_MAX ? job_types[t].skill : NULL);
}

const char *
jobspec_type_summary(enum job_type t)
{
	return (t < JOB_TYPE_MAX ? job_types[t].summary : NULL);
}

int
jobspec_type_parse(const char *s, enum job_type *t)
{
	int	i;

	for (i = 0; i < JOB_TYPE_MAX; i++) {
		if (strcmp(s, job_types[i].name) == 0) {
			*t = (enum job_type)i;
			return (0);
		}
	}
	return (-1);
}

const char *
job_state_name(enum job_state s)
{
	return (s < JOB_STATE_MAX ? job_states[s] : "unknown");
}

int
job_state_parse(const char *s, enum job_state *st)
{
	int	i;

	for (i = 0; i < JOB_STATE_MAX; i++) {
		if (strcmp(s, job_states[i]) == 0) {
			*st = (enum job_state)i;
			return (0);
		}
	}
	return (-1);
}

/* Terminal states never change. */
int
job_state_terminal(enum job_state s)
{
	return (s >= JOB_SUCCEEDED && s < JOB_STATE_MAX);
}

static char *
dup_opt(const char *s)
{
	return (s != NULL ? xstrdup(s) : NULL);
}

/* Refuse control characters: they have no business in these fields. */
static int
check_printable(const char *field, const char *s, char **cause)
{
	for (; *s != '\0'; s++) {
		if (iscntrl((unsigned char)*s)) {
			xasprintf(cause, "%s: contains a control character",
			    field);
			return (-1);
		}
	}
	return (0);
}

/*
 * Only https://, ssh://, git:// and scp-like user@host:path remotes: git's
 * file://, ext:: and fd:: transports (and anything else) could read the
 * host or run commands, and a leading '-' would be taken as an option.
 */
static int
check_url(const char *url, char **cause)
{
	static const char	*schemes[] = { "https://", "ssh://", "git://" };
	const char		*at, *colon, *rest;
	size_t			 i;

	if (check_printable("repo.url", url, cause) == -1)
		return (-1);
	if (strpbrk(url, " \t\\") != NULL || url[0] == '-' ||
	    strstr(url, "::") != NULL)
		goto invalid;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strncmp(url, schemes[i], strlen(schemes[i])) != 0)
			continue;
		rest = url + strlen(schemes[i]);
		if (*rest == '\0' || *rest == '/' || *rest == '-')
			goto invalid;
		return (0);
	}
	/* scp-like syntax: user@host:path, with no scheme at all. */
	at = strchr(url, '@');
	colon = strchr(url, ':');
	if (strstr(url, "://") == NULL && at != NULL && colon != NULL &&
	    at > url && colon > at + 1 && colon[1] != '\0')
		return (0);
	xasprintf(cause, "repo.url: scheme must be https, ssh or git");
	return (-1);
invalid:
	xasprintf(cause, "repo.url: not a valid repository URL");
	return (-1);
}

/* A ref as git check-ref-format would allow, and not an option. */
static int
check_ref(const char *ref, char **cause)
{
	size_t	len = strlen(ref);

	if (check_printable("repo.ref", ref, cause) == -1)
		return (-1);
	if (len == 0 || ref[0] == '-' || ref[0] == '/' || ref[len - 1] == '/' ||
	    ref[len - 1] == '.' || strstr(ref, "..") != NULL ||
	    strstr(ref, "@{") != NULL || strstr(ref, "//") != NULL ||
	    strpbrk(ref, " ~^:?*[\\") != NULL) {
		xasprintf(cause, "repo.ref: not a valid git ref");
		return (-1);
	}
	return (0);
}

static int
parse_type(struct json_object *o, struct jobspec *js, char **cause)
{
	const char	*s;

	if (json_get_string(o, NULL, "job", J_REQUIRED, JOBSPEC_STRING_MAX,
	    &s, cause) == -1)
		return (-1);
	if (jobspec_type_parse(s, &js->js_type) == -1) {
		xasprintf(cause, "job: unknown job type '%.64s' (one of "
		    "bootstrap, fix-tests, refactor, experiment, custom)", s);
		return (-1);
	}
	return (0);
}

/* repo: {"url": …, "ref": …} or {"path": …}, exactly one source. */
static int
parse_repo(struct json_object *o, struct jobspec *js, char **cause)
{
	struct json_object	*repo;
	const char		*url = NULL, *ref = NULL, *path = NULL;

	if (json_get_object(o, NULL, "repo", J_REQUIRED, &repo, cause) == -1 ||
	    json_get_string(repo, "repo", "url", J_NONEMPTY, JOBSPEC_URL_MAX,
	    &url, cause) == -1 ||
	    json_get_string(repo, "repo", "ref", J_NONEMPTY,
	    JOBSPEC_STRING_MAX, &ref, cause) == -1 ||
	    json_get_string(repo, "repo", "path", J_NONEMPTY,
	    JOBSPEC_PATH_MAX, &path, cause) == -1)
		return (-1);
	if ((url == NULL) == (path == NULL)) {
		xasprintf(cause, "repo: give exactly one of url or path");
		return (-1);
	}
	if (path != NULL && (ref != NULL || path[0] != '/')) {
		xasprintf(cause, ref != NULL ? "repo.ref: only with repo.url" :
		    "repo.path: must be an absolute path");
		return (-1);
	}
	if ((url != NULL && check_url(url, cause) == -1) ||
	    (ref != NULL && check_ref(ref, cause) == -1) ||
	    (path != NULL && check_printable("repo.path", path, cause) == -1))
		return (-1);
	js->js_repo_url = dup_opt(url);
	js->js_repo_ref = dup_opt(ref);
	js->js_repo_path = dup_opt(path);
	return (0);
}

/* A portable variable name that does not belong to skillbox itself. */
static int
check_env_name(const char *name, char **cause)
{
	const char	*p;
	size_t		 i;

	if (!isalpha((unsigned char)name[0]) && name[0] != '_')
		goto bad;
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			goto bad;
	for (i = 0; i < sizeof(env_reserved) / sizeof(env_reserved[0]); i++)
		if (strcmp(name, env_reserved[i]) == 0)
			goto reserved;
	for (i = 0; i < sizeof(env_reserved_prefixes) /
	    sizeof(env_reserved_prefixes[0]); i++)
		if (strncmp(name, env_reserved_prefixes[i],
		    strlen(env_reserved_prefixes[i])) == 0)
			goto reserved;
	return (0);
bad:
	xasprintf(cause, "env.%.64s: not a valid variable name", name);
	return (-1);
reserved:
	xasprintf(cause, "env.%s: reserved for skillbox", name);
	return (-1);
}

static int
parse_env(struct json_object *o, struct jobspec *js, char **cause)
{
	struct json_object	*env;
	const char		*value;
	size_t			 n;
	int			 r;

	if ((r = json_get_object(o, NULL, "env", J_OPTIONAL, &env,
	    cause)) != 1)
		return (r);
	if ((size_t)json_object_object_length(env) > JOBSPEC_ENV_MAX) {
		xasprintf(cause, "env: too many variables (at most %d)",
		    JOBSPEC_ENV_MAX);
		return (-1);
	}
	js->js_env = xcalloc(JOBSPEC_ENV_MAX, sizeof(*js->js_env));
	n = 0;
	json_object_object_foreach(env, key, val) {
		(void)val;
		if (strlen(key) > 128) {
			xasprintf(cause, "env: variable name too long");
			return (-1);
		}
		if (check_env_name(key, cause) == -1 ||
		    json_get_string(env, "env", key, J_REQUIRED,
		    JOBSPEC_ENV_VALUE_MAX, &value, cause) == -1)
			return (-1);
		js->js_env[n].je_name = xstrdup(key);
		js->js_env[n++].je_value = xstrdup(value);
		js->js_nenv = n;
	}
	return (0);
}

/* An artifact glob: relative, inside the repo, no "..". */
static int
check_glob(const char *g, char **cause)
{
	if (check_printable("artifacts", g, cause) == -1)
		return (-1);
	if (g[0] == '/' || g[0] == '-' || strcmp(g, "..") == 0 ||
	    strncmp(g, "../", 3) == 0 || strstr(g, "/../") != NULL ||
	    (strlen(g) >= 3 && strcmp(g + strlen(g) - 3, "/..") == 0)) {
		xasprintf(cause, "artifacts: '%.64s' must be a relative path "
		    "inside the repository", g);
		return (-1);
	}
	return (0);
}

static int
parse_artifacts(struct json_object *o, struct jobspec *js, char **cause)
{
	struct json_object	*arr, *el;
	size_t			 i, n;
	int			 r;

	if ((r = json_get_array(o, NULL, "artifacts", J_OPTIONAL,
	    JOBSPEC_ARTIFACTS_MAX, &arr, cause)) != 1)
		return (r);
	n = json_object_array_length(arr);
	if (n == 0)
		return (0);
	js->js_artifacts = xcalloc(n, sizeof(*js->js_artifacts));
	for (i = 0; i < n; i++) {
		el = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(el, json_type_string) ||
		    json_object_get_string_len(el) == 0 ||
		    json_object_get_string_len(el) > JOBSPEC_STRING_MAX) {
			xasprintf(cause, "artifacts[%zu]: expected a path of "
			    "1 to %d bytes", i, JOBSPEC_STRING_MAX);
			return (-1);
		}
		if (check_glob(json_object_get_string(el), cause) == -1)
			return (-1);
		js->js_artifacts[i] = xstrdup(json_object_get_string(el));
		js->js_nartifacts = i + 1;
	}
	return (0);
}

static int
parse_scalars(struct json_object *o, struct jobspec *js, char **cause)
{
	const char	*instr = NULL, *model = NULL, *key = NULL;

	js->js_timeout_s = JOBSPEC_TIMEOUT_DEFAULT;
	js->js_max_turns = JOBSPEC_TURNS_DEFAULT;
	if (json_get_string(o, NULL, "instructions", J_NONEMPTY,
	    JOBSPEC_INSTRUCTIONS_MAX, &instr, cause) == -1 ||
	    json_get_int(o, NULL, "timeout_s", J_OPTIONAL, JOBSPEC_TIMEOUT_MIN,
	    JOBSPEC_TIMEOUT_MAX, &js->js_timeout_s, cause) == -1 ||
	    json_get_int(o, NULL, "max_turns", J_OPTIONAL, 1,
	    JOBSPEC_TURNS_MAX, &js->js_max_turns, cause) == -1 ||
	    json_get_string(o, NULL, "model", J_NONEMPTY, 128, &model,
	    cause) == -1 ||
	    json_get_string(o, NULL, "idempotency_key", J_NONEMPTY,
	    JOBSPEC_STRING_MAX, &key, cause) == -1)
		return (-1);
	if (js->js_type == JOB_CUSTOM && instr == NULL) {
		xasprintf(cause, "instructions: required for a custom job");
		return (-1);
	}
	if ((model != NULL && (check_printable("model", model, cause) == -1 ||
	    model[0] == '-' || strchr(model, ' ') != NULL)) ||
	    (key != NULL && check_printable("idempotency_key", key,
	    cause) == -1)) {
		if (*cause == NULL)
			xasprintf(cause, "model: not a valid model name");
		return (-1);
	}
	js->js_instructions = dup_opt(instr);
	js->js_model = dup_opt(model);
	js->js_idempotency_key = dup_opt(key);
	return (0);
}

/*
 * Parse and validate a job spec.  Unknown top-level fields are refused, so
 * that a misspelt option is an error rather than silently ignored.
 */
int
jobspec_parse(struct json_object *o, struct jobspec **out, char **cause)
{
	static const char	*known[] = { "repo", "job", "instructions",
	    "timeout_s", "max_turns", "model", "env", "artifacts",
	    "idempotency_key" };
	struct jobspec		*js;
	size_t			 i;

	*cause = NULL;
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		xasprintf(cause, "job spec: expected an object");
		return (-1);
	}
	json_object_object_foreach(o, key, val) {
		(void)val;
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			xasprintf(cause, "%.64s: unknown field", key);
			return (-1);
		}
	}
	js = xcalloc(1, sizeof(*js));
	if (parse_type(o, js, cause) == -1 || parse_repo(o, js, cause) == -1 ||
	    parse_scalars(o, js, cause) == -1 ||
	    parse_env(o, js, cause) == -1 ||
	    parse_artifacts(o, js, cause) == -1) {
		jobspec_free(&js);
		return (-1);
	}
	*out = js;
	return (0);
}

/* The spec as JSON, in the form jobspec_parse accepts. */
struct json_object *
jobspec_to_json(const struct jobspec *js)
{
	struct json_object	*o, *repo, *env, *arr;
	size_t			 i;

	o = json_object_new_object();
	repo = json_object_new_object();
	if (js->js_repo_url != NULL)
		json_add_string(repo, "url", js->js_repo_url);
	if (js->js_repo_ref != NULL)
		json_add_string(repo, "ref", js->js_repo_ref);
	if (js->js_repo_path != NULL)
		json_add_string(repo, "path", js->js_repo_path);
	json_object_object_add(o, "repo", repo);
	json_add_string(o, "job", jobspec_type_name(js->js_type));
	if (js->js_instructions != NULL)
		json_add_string(o, "instructions", js->js_instructions);
	json_add_int(o, "timeout_s", js->js_timeout_s);
	json_add_int(o, "max_turns", js->js_max_turns);
	if (js->js_model != NULL)
		json_add_string(o, "model", js->js_model);
	if (js->js_nenv > 0) {
		env = json_object_new_object();
		for (i = 0; i < js->js_nenv; i++)
			json_add_string(env, js->js_env[i].je_name,
			    js->js_env[i].je_value);
		json_object_object_add(o, "env", env);
	}
	if (js->js_nartifacts > 0) {
		arr = json_object_new_array();
		for (i = 0; i < js->js_nartifacts; i++)
			json_object_array_add(arr,
			    json_object_new_string(js->js_artifacts[i]));
		json_object_object_add(o, "artifacts", arr);
	}
	if (js->js_idempotency_key != NULL)
		json_add_string(o, "idempotency_key", js->js_idempotency_key);
	return (o);
}

void
jobspec_free(struct jobspec **jsp)
{
	struct jobspec	*js = *jsp;
	size_t		 i;

	if (js == NULL)
		return;
	free(js->js_repo_url);
	free(js->js_repo_ref);
	free(js->js_repo_path);
	free(js->js_instructions);
	free(js->js_model);
	for (i = 0; i < js->js_nenv; i++) {
		free(js->js_env[i].je_name);
		free(js->js_env[i].je_value);
	}
	free(js->js_env);
	for (i = 0; i < js->js_nartifacts; i++)
		free(js->js_artifacts[i]);
	free(js->js_artifacts);
	free(js->js_idempotency_key);
	free(js);
	*jsp = NULL;
}

/*
 * Check that a local repo path is a directory under one of the allowed
 * roots (a colon-separated list), after resolving symlinks.  On success
 * *resolved holds the real path, which the caller frees.
 */
int
jobspec_check_path(const struct jobspec *js, const char *roots,
    char **resolved, char **cause)
{
	char		 real[PATH_MAX], root[PATH_MAX], *list, *p, *next;
	struct stat	 sb;
	size_t		 len;
	int		 ok = 0;

	*cause = NULL;
	if (js->js_repo_path == NULL)
		return (0);
	if (realpath(js->js_repo_path, real) == NULL ||
	    stat(real, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		xasprintf(cause, "repo.path: %s is not a directory",
		    js->js_repo_path);
		return (-1);
	}
	list = xstrdup(roots != NULL ? roots : "");
	for (p = list; p != NULL && !ok; p = next) {
		if ((next = strchr(p, ':')) != NULL)
			*next++ = '\0';
		if (*p == '\0' || realpath(p, root) == NULL)
			continue;
		len = strlen(root);
		if (strcmp(root, "/") == 0 || (strncmp(real, root, len) == 0 &&
		    (real[len] == '\0' || real[len] == '/')))
			ok = 1;
	}
	free(list);
	if (!ok) {
		xasprintf(cause, "repo.path: %s is outside the allowed roots "
		    "(SKILLBOX_ALLOWED_ROOTS)", js->js_repo_path);
		return (-1);
	}
	*resolved = xstrdup(real);
	return (0);
}
