/*
 * Settings: the defaults, then skillbox.conf, then the environment (the
 * command line is applied last, by skillboxd.c).  One table holds every
 * setting: its keyword in the file, its environment variable, its type
 * and range.  A bad value is an error naming where it came from
 * ("file:line: key: ..." or "VARIABLE: ..."), never a silent default.
 *
 * Secrets never sit in the file: its *-file keys name files that hold
 * them, and systemd credentials fill those left unset.  Secrets taken
 * from the environment are removed from it, so that nothing started later
 * inherits them, and every secret is registered for redaction.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "redact.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define CONF_LINE_MAX	4096		/* bytes in a line */
#define CONF_ERRORS_MAX	20		/* errors reported per load */
#define CONF_SECRET_MAX	4096		/* bytes in one secret */

enum conf_type {
	CONF_STRING,	/* any text */
	CONF_PATH,	/* a path, absolute when it comes from the file */
	CONF_URL,	/* an http:// or https:// URL */
	CONF_NUMBER,	/* an integer */
	CONF_SECONDS,	/* a duration kept in seconds: 30, 30s, 5m, 1h */
	CONF_MILLIS,	/* a duration kept in milliseconds: 500ms, 10s */
	CONF_BYTES,	/* a size kept in bytes: 65536, 64k, 4M */
	CONF_LEVEL,	/* a log level: its name, or 0 to 3 */
	CONF_SECRET,	/* file: names a file holding it; env: is it */
	CONF_TYPE_MAX
};

#define CK_RESTART	0x1	/* a reload keeps the running value */
#define CK_EMPTY	0x2	/* "" is a value: an empty list */

/* One setting. */
struct conf_key {
	const char	*ck_key;	/* keyword in skillbox.conf */
	const char	*ck_env;	/* environment variable */
	const char	*ck_cred;	/* systemd credential, or NULL */
	enum conf_type	 ck_type;
	size_t		 ck_off;	/* where in struct sv_config */
	int64_t		 ck_min;	/* numbers: the range */
	int64_t		 ck_max;
	int64_t		 ck_def;	/* numbers: the default */
	int		 ck_flags;	/* CK_* */
};

#define OFF(f)		offsetof(struct sv_config, f)
#define KIB		((int64_t)1024)
#define MIB		(KIB * 1024)

static int	conf_roots_from_cwd = 1;	/* see config_default_roots */
static const struct conf_key conf_keys[] = {
	{ "state-dir", "SKILLBOX_STATE_DIR", NULL, CONF_PATH,
	    OFF(c_state_dir), 0, 0, 0, CK_RESTART },
	{ "runtime-dir", "SKILLBOX_RUNTIME_DIR", NULL, CONF_PATH,
	    OFF(c_runtime_dir), 0, 0, 0, CK_RESTART },
	{ "skills-dir", "SKILLBOX_SKILLS_DIR", NULL, CONF_PATH,
	    OFF(c_skills_dir), 0, 0, 0, CK_RESTART },
	{ "worker", "SKILLBOX_WORKER", NULL, CONF_PATH,
	    OFF(c_worker_path), 0, 0, 0, 0 },
	{ "template", "SKILLBOX_TEMPLATE", NULL, CONF_STRING,
	    OFF(c_template), 0, 0, 0, 0 },
	{ "max-jobs", "SKILLBOX_MAX_JOBS", NULL, CONF_NUMBER,
	    OFF(c_max_jobs), 1, 1024, 4, 0 },
	{ "queue-max", "SKILLBOX_QUEUE_MAX", NULL, CONF_NUMBER,
	    OFF(c_queue_max), 0, 100000, 256, CK_RESTART },
	{ "allowed-roots", "SKILLBOX_ALLOWED_ROOTS", NULL, CONF_STRING,
	    OFF(c_allowed_roots), 0, 0, 0, CK_EMPTY },
	{ "idle-timeout", "SKILLBOX_IDLE_TIMEOUT_S", NULL, CONF_SECONDS,
	    OFF(c_idle_timeout_s), 10, 86400, 300, 0 },
	{ "stop-grace", "SKILLBOX_STOP_GRACE_MS", NULL, CONF_MILLIS,
	    OFF(c_stop_grace_ms), 100, 600000, 10000, 0 },
	{ "shutdown-grace", "SKILLBOX_SHUTDOWN_GRACE_MS", NULL, CONF_MILLIS,
	    OFF(c_shutdown_grace_ms), 0, 600000, 30000, 0 },
	{ "job-retention", "SKILLBOX_JOB_RETENTION", NULL, CONF_SECONDS,
	    OFF(c_job_retention_s), 0, 10 * 366 * 86400, 30 * 86400, 0 },
	{ "e2b-api-url", "E2B_API_URL", NULL, CONF_URL,
	    OFF(c_e2b_api_url), 0, 0, 0, 0 },
	{ "e2b-domain", "E2B_DOMAIN", NULL, CONF_STRING,
	    OFF(c_e2b_domain), 0, 0, 0, 0 },
	{ "e2b-sandbox-url", "E2B_SANDBOX_URL", NULL, CONF_URL,
	    OFF(c_e2b_sandbox_url), 0, 0, 0, 0 },
	{ "anthropic-base-url", "ANTHROPIC_BASE_URL", NULL, CONF_URL,
	    OFF(c_anthropic_base_url), 0, 0, 0, 0 },
	{ "e2b-api-key-file", "E2B_API_KEY", "e2b-api-key", CONF_SECRET,
	    OFF(c_e2b_api_key), 0, 0, 0, 0 },
	{ "anthropic-api-key-file", "ANTHROPIC_API_KEY", "anthropic-api-key",
	    CONF_SECRET, OFF(c_anthropic_api_key), 0, 0, 0, 0 },
	{ "git-token-file", "SKILLBOX_GIT_TOKEN", "git-token", CONF_SECRET,
	    OFF(c_git_token), 0, 0, 0, 0 },
	{ "log-level", "SKILLBOX_LOG_LEVEL", NULL, CONF_LEVEL,
	    OFF(c_log_level), 0, 0, LOG_LEVEL_INFO, 0 },
	{ "listen", "SKILLBOX_LISTEN", NULL, CONF_STRING,
	    OFF(c_listen), 0, 0, 0, CK_RESTART },
	{ "token-file", "SKILLBOX_TOKEN_FILE", "skillbox-token", CONF_PATH,
	    OFF(c_token_file), 0, 0, 0, CK_RESTART },
	{ "allowed-hosts", "SKILLBOX_ALLOWED_HOSTS", NULL, CONF_STRING,
	    OFF(c_allowed_hosts), 0, 0, 0, CK_RESTART },
	{ "allowed-origins", "SKILLBOX_ALLOWED_ORIGINS", NULL, CONF_STRING,
	    OFF(c_allowed_origins), 0, 0, 0, CK_RESTART },
	{ "http-body-max", "SKILLBOX_HTTP_BODY_MAX", NULL, CONF_BYTES,
	    OFF(c_http_body_max), 64 * KIB, 64 * MIB, 4 * MIB, CK_RESTART },
	{ "http-timeout", "SKILLBOX_HTTP_TIMEOUT_S", NULL, CONF_SECONDS,
	    OFF(c_http_timeout_s), 1, 3600, 30, CK_RESTART },
	{ "max-sessions", "SKILLBOX_MAX_SESSIONS", NULL, CONF_NUMBER,
	    OFF(c_max_sessions), 1, 100000, 1024, CK_RESTART },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define NKEYS		NITEMS(conf_keys)

/* A unit a number may carry, and what it multiplies by. */
struct conf_unit {
	enum conf_type	 cu_type;
	const char	*cu_suffix;
	int64_t		 cu_mult;
};

/* Largest first: the printer picks the first that divides evenly. */
static const struct conf_unit conf_units[] = {
	{ CONF_SECONDS, "h", 3600 },
	{ CONF_SECONDS, "m", 60 },
	{ CONF_SECONDS, "s", 1 },
	{ CONF_MILLIS, "h", 3600000 },
	{ CONF_MILLIS, "m", 60000 },
	{ CONF_MILLIS, "s", 1000 },
	{ CONF_MILLIS, "ms", 1 },
	{ CONF_BYTES, "G", 1024 * MIB },
	{ CONF_BYTES, "M", MIB },
	{ CONF_BYTES, "k", KIB },
};

/* Where a load stands: the errors so far. */
struct conf_load {
	struct buf	 cl_errs;
	int		 cl_nerrs;
	int		 cl_lines[NKEYS];	/* where each key was set */
};

static const char *config_levels[] = { "warning", "info", "debug", "trace" };

/* Secrets taken out of the environment, kept for reloads. */
static char	*conf_stash[NKEYS];

static void	*conf_field(const struct sv_config *,
		    const struct conf_key *);
static int	 conf_is_text(const struct conf_key *);
static size_t	 conf_size(const struct conf_key *);
static void	 conf_error(struct conf_load *, const char *, ...)
		    __attribute__((__format__(printf, 2, 3)));
static int	 conf_number(const struct conf_key *, const char *, int64_t *,
		    char **);
static void	 conf_format_number(const struct conf_key *, int64_t,
		    struct buf *);
static int	 conf_format(const struct sv_config *,
		    const struct conf_key *, struct buf *);
static int	 conf_read_secret(const char *, char **, char **);
static int	 conf_set_string(struct sv_config *, const struct conf_key *,
		    const char *, int, char **);
static int	 conf_set(struct sv_config *, const struct conf_key *,
		    const char *, int, char **);
static int	 conf_split(char *, char **, int *, char **);
static const struct conf_key *conf_lookup(const char *);
static void	 conf_line(struct sv_config *, struct conf_load *,
		    const char *, int, char *, size_t);
static void	 conf_file(struct sv_config *, struct conf_load *,
		    const char *, int);
static const char *conf_getenv(size_t);
static void	 conf_env(struct sv_config *, struct conf_load *);
static void	 conf_credentials(struct sv_config *, struct conf_load *);
static char	*conf_default_state_dir(void);
static void	 conf_defaults(struct sv_config *, struct conf_load *);

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

static void *
conf_field(const struct sv_config *cfg, const struct conf_key *k)
{
	return ((char *)(uintptr_t)cfg + k->ck_off);
}

/* Whether a setting is kept as an allocated string. */
static int
conf_is_text(const struct conf_key *k)
{
	return (k->ck_type == CONF_STRING || k->ck_type == CONF_PATH ||
	    k->ck_type == CONF_URL || k->ck_type == CONF_SECRET);
}

/* How many bytes a setting takes in struct sv_config. */
static size_t
conf_size(const struct conf_key *k)
{
	if (conf_is_text(k))
		return (sizeof(char *));
	return (k->ck_type == CONF_LEVEL ? sizeof(int) : sizeof(int64_t));
}

/* Add one line to the errors of a load; past the limit, say so once. */
static void
conf_error(struct conf_load *cl, const char *fmt, ...)
{
	va_list	ap;

	if (cl->cl_nerrs++ > CONF_ERRORS_MAX)
		return;
	if (buf_len(&cl->cl_errs) > 0)
		(void)buf_addc(&cl->cl_errs, '\n');
	if (cl->cl_nerrs > CONF_ERRORS_MAX) {
		(void)buf_addstr(&cl->cl_errs, "too many errors");
		return;
	}
	va_start(ap, fmt);
	(void)buf_vprintf(&cl->cl_errs, fmt, ap);
	va_end(ap);
}

/* A number with the units its type allows, within the setting's range. */
static int
conf_number(const struct conf_key *k, const char *s, int64_t *out,
    char **cause)
{
	struct buf	 range;
	char		*end;
	long long	 n;
	int64_t		 mult = 1;
	size_t		 i;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s)
		goto bad;
	if (*end != '\0') {
		for (i = 0; i < NITEMS(conf_units); i++)
			if (conf_units[i].cu_type == k->ck_type &&
			    strcmp(end, conf_units[i].cu_suffix) == 0)
				break;
		if (i == NITEMS(conf_units))
			goto bad;
		mult = conf_units[i].cu_mult;
	}
	if (n < k->ck_min / mult || n > k->ck_max / mult ||
	    n * mult < k->ck_min || n * mult > k->ck_max)
		goto bad;
	*out = n * mult;
	return (0);
bad:
	buf_init(&range, 256);
	conf_format_number(k, k->ck_min, &range);
	(void)buf_addstr(&range, " to ");
	conf_format_number(k, k->ck_max, &range);
	xasprintf(cause, "'%.32s' is not a %s from %s", s,
	    k->ck_type == CONF_NUMBER ? "number" : k->ck_type == CONF_BYTES ?
	    "size" : "duration", buf_str(&range));
	buf_free(&range);
	return (-1);
}

/* A number in the largest unit that holds it exactly. */
static void
conf_format_number(const struct conf_key *k, int64_t n, struct buf *b)
{
	size_t	i;

	for (i = 0; i < NITEMS(conf_units); i++) {
		if (conf_units[i].cu_type != k->ck_type ||
		    n % conf_units[i].cu_mult != 0 ||
		    (n == 0 && conf_units[i].cu_mult != 1))
			continue;
		(void)buf_printf(b, "%lld%s",
		    (long long)(n / conf_units[i].cu_mult),
		    conf_units[i].cu_suffix);
		return;
	}
	(void)buf_printf(b, "%lld", (long long)n);
}

/*
 * A setting's value as skillbox.conf would spell it, quoted when it must
 * be; 0 if it has none.  Secrets are never formatted.
 */
static int
conf_format(const struct sv_config *cfg, const struct conf_key *k,
    struct buf *b)
{
	const char	*s, *p;

	switch (k->ck_type) {
	case CONF_NUMBER:
	case CONF_SECONDS:
	case CONF_MILLIS:
	case CONF_BYTES:
		conf_format_number(k, *(int64_t *)conf_field(cfg, k), b);
		return (1);
	case CONF_LEVEL:
		(void)buf_addstr(b, config_log_level_name(*(int *)conf_field(
		    cfg, k)));
		return (1);
	case CONF_SECRET:
		return (0);
	default:
		break;
	}
	if ((s = *(char **)conf_field(cfg, k)) == NULL)
		return (0);
	if (*s != '\0' && strcspn(s, " \t\"'#\\") == strlen(s)) {
		(void)buf_addstr(b, s);
		return (1);
	}
	(void)buf_addc(b, '"');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			(void)buf_addc(b, '\\');
		(void)buf_addc(b, *p);
	}
	(void)buf_addc(b, '"');
	return (1);
}

/* Read a secret: one line, trailing white space dropped. */
static int
conf_read_secret(const char *path, char **out, char **cause)
{
	struct buf	 b;
	int		 fd, truncated, r = -1;
	size_t		 len;

	buf_init(&b, CONF_SECRET_MAX + 1);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    buf_read_fd(&b, fd, CONF_SECRET_MAX + 1, &truncated) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	len = buf_len(&b);
	while (len > 0 && strchr(" \t\r\n", buf_str(&b)[len - 1]) != NULL)
		len--;
	buf_truncate(&b, len);
	if (truncated || len == 0 || strlen(buf_str(&b)) != len ||
	    strcspn(buf_str(&b), "\r\n") != len) {
		xasprintf(cause, "%s: %s", path, len == 0 ? "empty" :
		    "not one line of at most 4096 bytes");
		goto out;
	}
	*out = buf_detach(&b, NULL);
	r = 0;
out:
	if (fd != -1)
		close(fd);
	if (r == -1)
		buf_free(&b);
	return (r);
}

/*
 * Check and store a text setting.  From the file (or a credential), paths
 * must be absolute and a secret's value names the file that holds it.
 */
static int
conf_set_string(struct sv_config *cfg, const struct conf_key *k,
    const char *s, int from_file, char **cause)
{
	char	**field = conf_field(cfg, k);
	char	 *v;

	if (*s == '\0' && !(k->ck_flags & CK_EMPTY)) {
		xasprintf(cause, "empty value");
		return (-1);
	}
	if (from_file && (k->ck_type == CONF_PATH ||
	    k->ck_type == CONF_SECRET) && *s != '/') {
		xasprintf(cause, "'%.64s' is not an absolute path", s);
		return (-1);
	}
	if (k->ck_type == CONF_URL && ((strncmp(s, "http://", 7) != 0 &&
	    strncmp(s, "https://", 8) != 0) || strchr(s, ' ') != NULL)) {
		xasprintf(cause, "'%.64s' is not an http:// or https:// URL",
		    s);
		return (-1);
	}
	if (k->ck_type != CONF_SECRET || !from_file)
		v = xstrdup(s);
	else if (conf_read_secret(s, &v, cause) == -1)
		return (-1);
	if (k->ck_type == CONF_SECRET) {
		if (redact_add(v) == -1)
			log_warnx("%s is too short to be redacted reliably",
			    k->ck_key);
		freezero_str(*field);
	} else
		free(*field);
	*field = v;
	return (0);
}

/* Set one setting from text, from the file or the environment. */
static int
conf_set(struct sv_config *cfg, const struct conf_key *k, const char *s,
    int from_file, char **cause)
{
	size_t	i;

	switch (k->ck_type) {
	case CONF_NUMBER:
	case CONF_SECONDS:
	case CONF_MILLIS:
	case CONF_BYTES:
		return (conf_number(k, s, conf_field(cfg, k), cause));
	case CONF_LEVEL:	/* a name, or its number as the worker takes */
		for (i = 0; i < NITEMS(config_levels); i++)
			if (strcmp(s, config_levels[i]) == 0 ||
			    (s[0] == '0' + (char)i && s[1] == '\0')) {
				*(int *)conf_field(cfg, k) = (int)i;
				return (0);
			}
		xasprintf(cause, "'%.32s' is not warning, info, debug or "
		    "trace", s);
		return (-1);
	default:
		return (conf_set_string(cfg, k, s, from_file, cause));
	}
}

/*
 * Split a line in place into words: bare words end at white space,
 * "quoted" words may hold \" and \\, 'quoted' words hold anything but '.
 * A # that begins a word begins a comment.  *n is the number of words,
 * one more than max when there are too many.
 */
static int
conf_split(char *s, char **words, int *n, char **cause)
{
	char	*out, q;

	for (*n = 0;; (*n)++) {
		s += strspn(s, " \t\r\n");
		if (*s == '\0' || *s == '#')
			return (0);
		if (*n == 2) {
			*n = 3;
			return (0);
		}
		words[*n] = out = s;
		if (*s != '"' && *s != '\'') {
			s += strcspn(s, " \t\r\n");
			out = s;
		} else {
			for (q = *s++; *s != q; *out++ = *s++) {
				if (*s == '\0' || *s == '\n') {
					xasprintf(cause, "unterminated quote");
					return (-1);
				}
				if (q == '"' && *s == '\\' && s[1] != '"' &&
				    s[1] != '\\') {
					xasprintf(cause, "unknown escape in "
					    "quotes (only \\\" and \\\\)");
					return (-1);
				}
				if (q == '"' && *s == '\\')
					s++;
			}
			if (*++s != '\0' && strchr(" \t\r\n", *s) == NULL) {
				xasprintf(cause, "text after a closing quote");
				return (-1);
			}
		}
		if (*s != '\0')
			s++;
		*out = '\0';
	}
}

static const struct conf_key *
conf_lookup(const char *key)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].ck_key, key) == 0)
			return (&conf_keys[i]);
	return (NULL);
}

/* One line of the file: nothing, or a keyword and its value. */
static void
conf_line(struct sv_config *cfg, struct conf_load *cl, const char *path,
    int lineno, char *line, size_t len)
{
	const struct conf_key	*k;
	char			*words[2], *cause = NULL;
	int			 n;

	if (len > CONF_LINE_MAX || strlen(line) != len) {
		conf_error(cl, "%s:%d: %s", path, lineno, len > CONF_LINE_MAX ?
		    "line too long" : "NUL byte in line");
		return;
	}
	if (conf_split(line, words, &n, &cause) == -1) {
		conf_error(cl, "%s:%d: %s", path, lineno, cause);
		free(cause);
		return;
	}
	if (n == 0)
		return;
	if ((k = conf_lookup(words[0])) == NULL)
		conf_error(cl, "%s:%d: unknown key '%.64s'", path, lineno,
		    words[0]);
	else if (n != 2)
		conf_error(cl, "%s:%d: %s: %s", path, lineno, k->ck_key, n < 2 ?
		    "missing value" : "more than one value (quote a value "
		    "that has spaces)");
	else if (cl->cl_lines[k - conf_keys] != 0)
		conf_error(cl, "%s:%d: %s: already set on line %d", path,
		    lineno, k->ck_key, cl->cl_lines[k - conf_keys]);
	else if (conf_set(cfg, k, words[1], 1, &cause) == -1) {
		conf_error(cl, "%s:%d: %s: %s", path, lineno, k->ck_key,
		    cause);
		free(cause);
	} else
		cl->cl_lines[k - conf_keys] = lineno;
}

/* Read the file, line by line; a missing file is fine unless required. */
static void
conf_file(struct sv_config *cfg, struct conf_load *cl, const char *path,
    int required)
{
	FILE	*f;
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 len;
	int	 lineno = 0;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno != ENOENT || required)
			conf_error(cl, "%s: %s", path, strerror(errno));
		return;
	}
	while ((len = getline(&line, &cap, f)) != -1)
		conf_line(cfg, cl, path, ++lineno, line, (size_t)len);
	if (ferror(f))
		conf_error(cl, "%s: %s", path, strerror(errno));
	free(line);
	fclose(f);
}

/*
 * A variable.  A secret one is taken out of the environment and kept,
 * so that a reload still finds it.
 */
static const char *
conf_getenv(size_t i)
{
	const char	*s = getenv(conf_keys[i].ck_env);

	if (conf_keys[i].ck_type != CONF_SECRET)
		return (s);
	if (s != NULL) {
		freezero_str(conf_stash[i]);
		conf_stash[i] = *s != '\0' ? xstrdup(s) : NULL;
		unsetenv(conf_keys[i].ck_env);
	}
	return (conf_stash[i]);
}

/* The environment, over the file: set and not empty wins. */
static void
conf_env(struct sv_config *cfg, struct conf_load *cl)
{
	const char	*s;
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < NKEYS; i++) {
		if ((s = conf_getenv(i)) == NULL || *s == '\0')
			continue;
		if (conf_set(cfg, &conf_keys[i], s, 0, &cause) == -1) {
			conf_error(cl, "%s: %s", conf_keys[i].ck_env, cause);
			free(cause);
			cause = NULL;
		}
	}
}

/* systemd credentials for what is still unset: $CREDENTIALS_DIRECTORY/x. */
static void
conf_credentials(struct sv_config *cfg, struct conf_load *cl)
{
	const char	*dir = getenv("CREDENTIALS_DIRECTORY");
	char		*path, *cause = NULL;
	size_t		 i;

	if (dir == NULL || *dir != '/')
		return;
	for (i = 0; i < NKEYS; i++) {
		if (conf_keys[i].ck_cred == NULL ||
		    *(char **)conf_field(cfg, &conf_keys[i]) != NULL)
			continue;
		xasprintf(&path, "%s/%s", dir, conf_keys[i].ck_cred);
		if (access(path, F_OK) == 0 && conf_set(cfg, &conf_keys[i],
		    path, 1, &cause) == -1) {
			conf_error(cl, "credential %s: %s",
			    conf_keys[i].ck_cred, cause);
			free(cause);
			cause = NULL;
		}
		free(path);
	}
}

/* systemd's StateDirectory, else $XDG_STATE_HOME/skillbox, else ~/... */
static char *
conf_default_state_dir(void)
{
	const char	*sd = getenv("STATE_DIRECTORY");
	const char	*xdg = getenv("XDG_STATE_HOME");
	const char	*home = getenv("HOME");
	char		*dir = NULL;

	if (sd != NULL && sd[0] == '/')
		dir = xstrndup(sd, strcspn(sd, ":"));
	else if (xdg != NULL && xdg[0] == '/')
		xasprintf(&dir, "%s/skillbox", xdg);
	else if (home != NULL && home[0] == '/')
		xasprintf(&dir, "%s/.local/state/skillbox", home);
	return (dir);
}

/*
 * What is still unset gets its default.  The allowed roots default to
 * the directory skillboxd was started in, unless that is / (as for a
 * service): then no local path is allowed until the file says so.
 */
static void
conf_defaults(struct sv_config *cfg, struct conf_load *cl)
{
	char	cwd[PATH_MAX], host[256];

	if (cfg->c_state_dir == NULL &&
	    (cfg->c_state_dir = conf_default_state_dir()) == NULL)
		conf_error(cl, "no state directory: set state-dir (or "
		    "SKILLBOX_STATE_DIR, XDG_STATE_HOME or HOME)");
	if (cfg->c_worker_path == NULL)
		cfg->c_worker_path = xstrdup(SKILLBOX_LIBEXECDIR
		    "/skillbox-worker");
	if (cfg->c_skills_dir == NULL)
		cfg->c_skills_dir = xstrdup(SKILLBOX_DATADIR "/skills");
	if (cfg->c_template == NULL)
		cfg->c_template = xstrdup("claude");
	if (cfg->c_allowed_roots == NULL && conf_roots_from_cwd &&
	    getcwd(cwd, sizeof(cwd)) != NULL)
		cfg->c_allowed_roots = xstrdup(strcmp(cwd, "/") == 0 ? "" :
		    cwd);
	if (cfg->c_allowed_roots == NULL)
		cfg->c_allowed_roots = xstrdup("");
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	cfg->c_host = xstrdup(host);
}

/*
 * Where local repositories may lie by default: the directory skillboxd
 * was started in for a stdio launch (the client's project); none for an
 * HTTP host, which serves other machines.
 */
void
config_default_roots(int from_cwd)
{
	conf_roots_from_cwd = from_cwd;
}

/*
 * Fill cfg: defaults < the file (when path is not NULL; a missing file
 * is an error only if required) < the environment < credentials for
 * what is still unset.  On errors, *cause holds them, one per line.
 */
int
config_load(struct sv_config *cfg, const char *path, int required,
    char **cause)
{
	struct conf_load	 cl;
	size_t			 i;

	memset(cfg, 0, sizeof(*cfg));
	memset(&cl, 0, sizeof(cl));
	buf_init(&cl.cl_errs, 64 * 1024);
	for (i = 0; i < NKEYS; i++) {
		if (conf_keys[i].ck_type == CONF_LEVEL)
			*(int *)conf_field(cfg, &conf_keys[i]) =
			    (int)conf_keys[i].ck_def;
		else if (!conf_is_text(&conf_keys[i]))
			*(int64_t *)conf_field(cfg, &conf_keys[i]) =
			    conf_keys[i].ck_def;
	}
	if (path != NULL)
		conf_file(cfg, &cl, path, required);
	conf_env(cfg, &cl);
	conf_credentials(cfg, &cl);
	conf_defaults(cfg, &cl);
	if (cl.cl_nerrs == 0) {
		buf_free(&cl.cl_errs);
		return (0);
	}
	*cause = buf_detach(&cl.cl_errs, NULL);
	config_clear(cfg);
	return (-1);
}

/*
 * Put a freshly loaded config in place of the live one.  Settings that
 * need a restart keep their running values, with a warning if the new
 * config changed them.  fresh is cleared.
 */
void
config_swap(struct sv_config *live, struct sv_config *fresh)
{
	const struct conf_key	*k;
	struct sv_config	 tmp;
	struct buf		 a, b;
	unsigned char		 v[sizeof(int64_t) + sizeof(char *)];
	size_t			 i;

	buf_init(&a, CONF_LINE_MAX);
	buf_init(&b, CONF_LINE_MAX);
	for (i = 0; i < NKEYS; i++) {
		k = &conf_keys[i];
		if (!(k->ck_flags & CK_RESTART))
			continue;
		buf_reset(&a);
		buf_reset(&b);
		if (conf_format(live, k, &a) != conf_format(fresh, k, &b) ||
		    strcmp(buf_str(&a), buf_str(&b)) != 0)
			log_warnx("%s changed: restart skillboxd to apply it",
			    k->ck_key);
		memcpy(v, conf_field(fresh, k), conf_size(k));
		memcpy(conf_field(fresh, k), conf_field(live, k), conf_size(k));
		memcpy(conf_field(live, k), v, conf_size(k));
	}
	buf_free(&a);
	buf_free(&b);
	tmp = *live;
	*live = *fresh;
	*fresh = tmp;
	config_clear(fresh);
}

/*
 * The effective settings, one per line, as skillbox.conf would say them:
 * a setting without a value and every secret appear as a comment, the
 * secrets as set or unset only.
 */
void
config_print(const struct sv_config *cfg, struct buf *out)
{
	const struct conf_key	*k;
	struct buf		 v;
	size_t			 i;
	int			 len;

	buf_init(&v, CONF_LINE_MAX);
	for (i = 0; i < NKEYS; i++) {
		k = &conf_keys[i];
		buf_reset(&v);
		if (k->ck_type == CONF_SECRET) {
			len = (int)(strlen(k->ck_key) - strlen("-file"));
			(void)buf_printf(out, "# %.*s: %s\n", len, k->ck_key,
			    *(char **)conf_field(cfg, k) != NULL ? "set" :
			    "unset");
		} else if (conf_format(cfg, k, &v))
			(void)buf_printf(out, "%s %s\n", k->ck_key,
			    buf_str(&v));
		else
			(void)buf_printf(out, "# %s: unset\n", k->ck_key);
	}
	buf_free(&v);
}

/* Log each line of a load's errors. */
void
config_log_errors(const char *errors)
{
	const char	*p, *nl;

	for (p = errors; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL) {
			log_warnx("%s", p);
			return;
		}
		log_warnx("%.*s", (int)(nl - p), p);
	}
}

/* Release every setting, wiping the secrets. */
void
config_clear(struct sv_config *cfg)
{
	char	**field;
	size_t	  i;

	for (i = 0; i < NKEYS; i++) {
		if (!conf_is_text(&conf_keys[i]))
			continue;
		field = conf_field(cfg, &conf_keys[i]);
		if (conf_keys[i].ck_type == CONF_SECRET)
			freezero_str(*field);
		else
			free(*field);
		*field = NULL;
	}
	free(cfg->c_host);
	cfg->c_host = NULL;
}

/* Forget the secrets kept from the environment. */
void
config_fini(void)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++) {
		freezero_str(conf_stash[i]);
		conf_stash[i] = NULL;
	}
}
