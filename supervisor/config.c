/*
 * Settings from the environment.  Every number has a range; a value out
 * of range or not a number is an error naming the variable, never a
 * silent default.  The secrets are taken out of the environment, so that
 * nothing started later inherits them, and registered for redaction.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "redact.h"
#include "skillboxd.h"
#include "xmalloc.h"

/* A numeric setting: its variable, where it goes, its range. */
static const struct {
	const char	*name;
	size_t		 off;
	int64_t		 min;
	int64_t		 max;
	int64_t		 def;
} config_numbers[] = {
	{ "SKILLBOX_MAX_JOBS", offsetof(struct sv_config, c_max_jobs),
	    1, 1024, 4 },
	{ "SKILLBOX_QUEUE_MAX", offsetof(struct sv_config, c_queue_max),
	    0, 100000, 256 },
	{ "SKILLBOX_IDLE_TIMEOUT_S",
	    offsetof(struct sv_config, c_idle_timeout_s), 10, 86400, 300 },
	{ "SKILLBOX_STOP_GRACE_MS",
	    offsetof(struct sv_config, c_stop_grace_ms), 100, 600000, 10000 },
	{ "SKILLBOX_SHUTDOWN_GRACE_MS",
	    offsetof(struct sv_config, c_shutdown_grace_ms), 0, 600000,
	    30000 },
	{ "SKILLBOX_HTTP_BODY_MAX", offsetof(struct sv_config, c_http_body_max),
	    64 * 1024, 64 * 1024 * 1024, 4 * 1024 * 1024 },
	{ "SKILLBOX_HTTP_TIMEOUT_S",
	    offsetof(struct sv_config, c_http_timeout_s), 1, 3600, 30 },
	{ "SKILLBOX_MAX_SESSIONS", offsetof(struct sv_config, c_max_sessions),
	    1, 100000, 1024 },
};

/* A string setting taken as is when set and not empty. */
static const struct {
	const char	*name;
	size_t		 off;
	int		 secret;
} config_strings[] = {
	{ "E2B_API_URL", offsetof(struct sv_config, c_e2b_api_url), 0 },
	{ "E2B_DOMAIN", offsetof(struct sv_config, c_e2b_domain), 0 },
	{ "E2B_SANDBOX_URL", offsetof(struct sv_config, c_e2b_sandbox_url),
	    0 },
	{ "ANTHROPIC_BASE_URL",
	    offsetof(struct sv_config, c_anthropic_base_url), 0 },
	{ "SKILLBOX_STATE_DIR", offsetof(struct sv_config, c_state_dir), 0 },
	{ "SKILLBOX_WORKER", offsetof(struct sv_config, c_worker_path), 0 },
	{ "SKILLBOX_SKILLS_DIR", offsetof(struct sv_config, c_skills_dir),
	    0 },
	{ "SKILLBOX_ALLOWED_ROOTS",
	    offsetof(struct sv_config, c_allowed_roots), 0 },
	{ "SKILLBOX_TEMPLATE", offsetof(struct sv_config, c_template), 0 },
	{ "SKILLBOX_LISTEN", offsetof(struct sv_config, c_listen), 0 },
	{ "SKILLBOX_TOKEN_FILE", offsetof(struct sv_config, c_token_file), 0 },
	{ "SKILLBOX_ALLOWED_HOSTS",
	    offsetof(struct sv_config, c_allowed_hosts), 0 },
	{ "SKILLBOX_ALLOWED_ORIGINS",
	    offsetof(struct sv_config, c_allowed_origins), 0 },
	{ "E2B_API_KEY", offsetof(struct sv_config, c_e2b_api_key), 1 },
	{ "ANTHROPIC_API_KEY",
	    offsetof(struct sv_config, c_anthropic_api_key), 1 },
	{ "SKILLBOX_GIT_TOKEN", offsetof(struct sv_config, c_git_token), 1 },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static int	config_number(const char *, int64_t, int64_t, int64_t,
		    int64_t *, char **);
static char	*config_default_state_dir(char **);

static const char *config_levels[] = { "warning", "info", "debug", "trace" };

/* The worker's name for a log level. */
const char *
config_log_level_name(int level)
{
	if (level < 0)
		level = 0;
	if ((size_t)level >= NITEMS(config_levels))
		level = NITEMS(config_levels) - 1;
	return (config_levels[level]);
}

/* Read one numeric setting, within its range, or keep its default. */
static int
config_number(const char *name, int64_t min, int64_t max, int64_t def,
    int64_t *out, char **cause)
{
	const char	*s = getenv(name);
	char		*end;
	long long	 n;

	*out = def;
	if (s == NULL || *s == '\0')
		return (0);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || n < min || n > max) {
		xasprintf(cause, "%s: '%.32s' is not a number from %lld to "
		    "%lld", name, s, (long long)min, (long long)max);
		return (-1);
	}
	*out = n;
	return (0);
}

/* $XDG_STATE_HOME/skillbox, else ~/.local/state/skillbox. */
static char *
config_default_state_dir(char **cause)
{
	const char	*xdg = getenv("XDG_STATE_HOME");
	const char	*home = getenv("HOME");
	char		*dir;

	if (xdg != NULL && xdg[0] == '/')
		xasprintf(&dir, "%s/skillbox", xdg);
	else if (home != NULL && home[0] == '/')
		xasprintf(&dir, "%s/.local/state/skillbox", home);
	else {
		xasprintf(cause, "no state directory: set SKILLBOX_STATE_DIR "
		    "(or XDG_STATE_HOME or HOME)");
		return (NULL);
	}
	return (dir);
}

/* Fill cfg from the environment. */
int
config_load(struct sv_config *cfg, char **cause)
{
	char		**field, cwd[PATH_MAX], host[256];
	const char	 *s;
	size_t		  i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->c_log_level = log_getlevel();
	for (i = 0; i < NITEMS(config_numbers); i++)
		if (config_number(config_numbers[i].name,
		    config_numbers[i].min, config_numbers[i].max,
		    config_numbers[i].def, (int64_t *)(void *)((char *)cfg +
		    config_numbers[i].off), cause) == -1)
			return (-1);
	for (i = 0; i < NITEMS(config_strings); i++) {
		field = (char **)(void *)((char *)cfg + config_strings[i].off);
		if ((s = getenv(config_strings[i].name)) == NULL || *s == '\0')
			continue;
		*field = xstrdup(s);
		if (!config_strings[i].secret)
			continue;
		if (redact_add(s) == -1)
			log_warnx("%s is too short to be redacted reliably",
			    config_strings[i].name);
		unsetenv(config_strings[i].name);
	}
	if (cfg->c_state_dir == NULL &&
	    (cfg->c_state_dir = config_default_state_dir(cause)) == NULL)
		return (-1);
	if (cfg->c_worker_path == NULL)
		cfg->c_worker_path = xstrdup(SKILLBOX_LIBEXECDIR
		    "/skillbox-worker");
	if (cfg->c_skills_dir == NULL)
		cfg->c_skills_dir = xstrdup(SKILLBOX_DATADIR "/skills");
	if (cfg->c_template == NULL)
		cfg->c_template = xstrdup("claude");
	if (cfg->c_allowed_roots == NULL && getcwd(cwd, sizeof(cwd)) != NULL)
		cfg->c_allowed_roots = xstrdup(cwd);
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	cfg->c_host = xstrdup(host);
	return (0);
}

/* Release every setting, wiping the secrets. */
void
config_clear(struct sv_config *cfg)
{
	size_t	i;
	char	**field;

	for (i = 0; i < NITEMS(config_strings); i++) {
		field = (char **)(void *)((char *)cfg + config_strings[i].off);
		if (config_strings[i].secret)
			freezero_str(*field);
		else
			free(*field);
		*field = NULL;
	}
	free(cfg->c_host);
	cfg->c_host = NULL;
}
