/* The worker's job: parsing the job message, and building it standalone. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "log.h"
#include "proto.h"
#include "redact.h"
#include "wjob.h"
#include "xmalloc.h"

#define WJOB_FILE_MAX	(1024 * 1024)

/* A config or secret string: where it goes in struct wjob. */
static const struct {
	const char	*key;
	int		 secret;
	size_t		 offset;
} wjob_strings[] = {
	{ "template", 0, offsetof(struct wjob, wj_template) },
	{ "e2b_api_url", 0, offsetof(struct wjob, wj_api_url) },
	{ "e2b_domain", 0, offsetof(struct wjob, wj_domain) },
	{ "e2b_sandbox_url", 0, offsetof(struct wjob, wj_sandbox_url) },
	{ "anthropic_base_url", 0,
	    offsetof(struct wjob, wj_anthropic_base_url) },
	{ "job_dir", 0, offsetof(struct wjob, wj_job_dir) },
	{ "host", 0, offsetof(struct wjob, wj_host) },
	{ "skills_dir", 0, offsetof(struct wjob, wj_skills_dir) },
	{ "skills_digest", 0, offsetof(struct wjob, wj_skills_digest) },
	{ "sandbox_id", 0, offsetof(struct wjob, wj_reap_id) },
	{ "reap_job", 0, offsetof(struct wjob, wj_reap_job) },
	{ "repo_path", 0, offsetof(struct wjob, wj_repo_path) },
	{ "e2b_api_key", 1, offsetof(struct wjob, wj_e2b_key) },
	{ "anthropic_api_key", 1, offsetof(struct wjob, wj_anthropic_key) },
	{ "git_token", 1, offsetof(struct wjob, wj_git_token) },
};
#define WJOB_NSTRINGS	(sizeof(wjob_strings) / sizeof(wjob_strings[0]))

/* Environment variable -> config key, for standalone mode. */
static const struct {
	const char	*env;
	const char	*key;
	int		 secret;
} wjob_env[] = {
	{ "SKILLBOX_TEMPLATE", "template", 0 },
	{ "E2B_API_URL", "e2b_api_url", 0 },
	{ "E2B_DOMAIN", "e2b_domain", 0 },
	{ "E2B_SANDBOX_URL", "e2b_sandbox_url", 0 },
	{ "ANTHROPIC_BASE_URL", "anthropic_base_url", 0 },
	{ "SKILLBOX_SKILLS_DIR", "skills_dir", 0 },
	{ "E2B_API_KEY", "e2b_api_key", 1 },
	{ "ANTHROPIC_API_KEY", "anthropic_api_key", 1 },
	{ "SKILLBOX_GIT_TOKEN", "git_token", 1 },
};

static int	wjob_read_strings(struct wjob *, struct json_object *,
		    struct json_object *, char **);
static struct json_object *wjob_read_file(const char *, char **);
static void	wjob_config_from_env(struct json_object *,
		    struct json_object *);

/* A fresh job id: "j-" and 16 hex digits. */
char *
wjob_new_id(void)
{
	unsigned char	r[8];
	char		*id;

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		fatal("getrandom");
	xasprintf(&id, "j-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
	    r[2], r[3], r[4], r[5], r[6], r[7]);
	return (id);
}

/* Copy each known string of config/secrets into the struct. */
static int
wjob_read_strings(struct wjob *wj, struct json_object *config,
    struct json_object *secrets, char **cause)
{
	const char	*s;
	size_t		 i;

	for (i = 0; i < WJOB_NSTRINGS; i++) {
		s = NULL;
		if (json_get_string(wjob_strings[i].secret ? secrets : config,
		    wjob_strings[i].secret ? "secrets" : "config",
		    wjob_strings[i].key, J_NONEMPTY, JOBSPEC_URL_MAX, &s,
		    cause) == -1)
			return (-1);
		if (s == NULL)
			continue;
		*(char **)((char *)wj + wjob_strings[i].offset) = xstrdup(s);
		if (wjob_strings[i].secret && redact_add(s) == -1) {
			xasprintf(cause, "secrets.%s: too short to be real",
			    wjob_strings[i].key);
			return (-1);
		}
	}
	return (0);
}

/*
 * Parse a job message (proto.h MSG_JOB).  Secrets are registered with
 * redact() at once.  A reaper's message has mode "reap" and no spec.
 */
int
wjob_parse(struct json_object *msg, struct wjob **out, char **cause)
{
	struct json_object	*spec, *config, *secrets;
	struct wjob		*wj;
	const char		*id, *mode = NULL;

	*cause = NULL;
	wj = xcalloc(1, sizeof(*wj));
	wj->wj_idle_s = WJOB_IDLE_DEFAULT;
	if (json_get_string(msg, "job", "job_id", J_REQUIRED | J_NONEMPTY, 64,
	    &id, cause) == -1 ||
	    json_get_object(msg, "job", "spec", J_REQUIRED, &spec, cause) == -1 ||
	    json_get_object(msg, "job", "config", J_REQUIRED, &config,
	    cause) == -1 ||
	    json_get_object(msg, "job", "secrets", J_REQUIRED, &secrets,
	    cause) == -1 ||
	    json_get_string(config, "config", "mode", 0, 16, &mode,
	    cause) == -1 ||
	    json_get_int(config, "config", "deadline_ms", 0, 0, INT64_MAX,
	    &wj->wj_deadline_ms, cause) == -1 ||
	    json_get_int(config, "config", "idle_timeout_s", 0, 1, 86400,
	    &wj->wj_idle_s, cause) == -1)
		goto fail;
	wj->wj_id = xstrdup(id);
	if (wjob_read_strings(wj, config, secrets, cause) == -1)
		goto fail;
	if (mode != NULL && strcmp(mode, "reap") == 0) {
		if (wj->wj_reap_id == NULL && wj->wj_reap_job == NULL) {
			xasprintf(cause, "config.sandbox_id or config.reap_job: "
			    "required to reap");
			goto fail;
		}
	} else if (jobspec_parse(spec, &wj->wj_spec, cause) == -1)
		goto fail;
	if (wj->wj_template == NULL)
		wj->wj_template = xstrdup("claude");
	*out = wj;
	return (0);
fail:
	wjob_free(&wj);
	return (-1);
}

void
wjob_free(struct wjob **wjp)
{
	struct wjob	*wj = *wjp;
	size_t		 i;
	char		**p;

	if (wj == NULL)
		return;
	for (i = 0; i < WJOB_NSTRINGS; i++) {
		p = (char **)((char *)wj + wjob_strings[i].offset);
		if (wjob_strings[i].secret)
			freezero_str(*p);
		else
			free(*p);
	}
	jobspec_free(&wj->wj_spec);
	free(wj->wj_id);
	free(wj);
	*wjp = NULL;
}

/* Read a job file: one JSON object, bounded. */
static struct json_object *
wjob_read_file(const char *path, char **cause)
{
	struct json_object	*o;
	struct buf		 b;
	char			 chunk[8192];
	ssize_t			 n;
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	buf_init(&b, WJOB_FILE_MAX);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (buf_add(&b, chunk, (size_t)n) == -1) {
			xasprintf(cause, "%s: larger than %d bytes", path,
			    WJOB_FILE_MAX);
			goto fail;
		}
	}
	if (n == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((o = json_parse(buf_str(&b), buf_len(&b), cause)) == NULL) {
		char	*c = *cause;

		xasprintf(cause, "%s: %s", path, c);
		free(c);
		goto fail;
	}
	close(fd);
	buf_free(&b);
	return (o);
fail:
	close(fd);
	buf_free(&b);
	return (NULL);
}

/* Fill config and secrets from the environment, as skillboxd would. */
static void
wjob_config_from_env(struct json_object *config, struct json_object *sec)
{
	const char	*v;
	char		 host[256];
	size_t		 i;

	for (i = 0; i < sizeof(wjob_env) / sizeof(wjob_env[0]); i++)
		if ((v = getenv(wjob_env[i].env)) != NULL && *v != '\0')
			json_add_string(wjob_env[i].secret ? sec : config,
			    wjob_env[i].key, v);
	if ((v = getenv("SKILLBOX_IDLE_TIMEOUT_S")) != NULL)
		json_add_int(config, "idle_timeout_s", strtoll(v, NULL, 10));
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		json_add_string(config, "host", host);
	}
	if (json_peek_string(config, "skills_dir") == NULL)
		json_add_string(config, "skills_dir", SKILLBOX_DATADIR "/skills");
}

/*
 * Standalone mode: build the job message the supervisor would send, from
 * a job file (a job spec as submit_job takes it) and the environment.
 * A local repo path must lie under SKILLBOX_ALLOWED_ROOTS (default: the
 * current directory).  out_dir receives the diff and artifacts.
 */
struct json_object *
wjob_from_file(const char *path, const char *out_dir, char **cause)
{
	struct json_object	*spec, *msg, *config, *secrets;
	struct jobspec		*js = NULL;
	const char		*roots;
	char			*id, *real = NULL, cwd[4096];
	struct timespec		 now;

	if ((spec = wjob_read_file(path, cause)) == NULL)
		return (NULL);
	if (jobspec_parse(spec, &js, cause) == -1)
		goto fail;
	if ((roots = getenv("SKILLBOX_ALLOWED_ROOTS")) == NULL)
		roots = getcwd(cwd, sizeof(cwd));
	if (jobspec_check_path(js, roots, &real, cause) == -1)
		goto fail;
	id = wjob_new_id();
	msg = proto_new(MSG_JOB, 1);
	config = json_object_new_object();
	secrets = json_object_new_object();
	json_add_string(msg, "job_id", id);
	clock_gettime(CLOCK_REALTIME, &now);
	json_add_int(config, "deadline_ms", (int64_t)now.tv_sec * 1000 +
	    now.tv_nsec / 1000000 + js->js_timeout_s * 1000);
	json_add_string(config, "job_dir", out_dir);
	if (real != NULL)
		json_add_string(config, "repo_path", real);
	wjob_config_from_env(config, secrets);
	json_object_object_add(msg, "spec", spec);
	json_object_object_add(msg, "config", config);
	json_object_object_add(msg, "secrets", secrets);
	free(id);
	free(real);
	jobspec_free(&js);
	return (msg);
fail:
	jobspec_free(&js);
	json_object_put(spec);
	return (NULL);
}

/*
 * Make the process environment say what the job's config says.  The
 * E2B and envd clients take their endpoints from E2B_API_URL, E2B_DOMAIN
 * and E2B_SANDBOX_URL, as the official SDKs do; a worker started by
 * skillboxd has a clean environment and gets them in the job message.
 */
void
wjob_export(const struct wjob *wj)
{
	const struct {
		const char	*env;
		const char	*value;
	} vars[] = {
		{ "E2B_API_URL", wj->wj_api_url },
		{ "E2B_DOMAIN", wj->wj_domain },
		{ "E2B_SANDBOX_URL", wj->wj_sandbox_url },
	};
	size_t	i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (vars[i].value != NULL && setenv(vars[i].env,
		    vars[i].value, 1) == -1)
			fatal("setenv %s", vars[i].env);
}

/* A reaper's job message, standalone: kill one sandbox. */
struct json_object *
wjob_reap_msg(const char *sandbox_id)
{
	struct json_object	*msg, *config, *secrets;
	char			*id;

	id = wjob_new_id();
	msg = proto_new(MSG_JOB, 1);
	config = json_object_new_object();
	secrets = json_object_new_object();
	json_add_string(msg, "job_id", id);
	json_add_string(config, "mode", "reap");
	json_add_string(config, "sandbox_id", sandbox_id);
	wjob_config_from_env(config, secrets);
	json_object_object_add(msg, "spec", json_object_new_object());
	json_object_object_add(msg, "config", config);
	json_object_object_add(msg, "secrets", secrets);
	free(id);
	return (msg);
}
