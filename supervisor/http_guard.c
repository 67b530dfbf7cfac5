/*
 * Who may talk to the HTTP host.  Against DNS rebinding, the Host header
 * must name this server (the loopback names and the listen address, or
 * SKILLBOX_ALLOWED_HOSTS) and an Origin, when a browser sends one, must
 * be a loopback one (or in SKILLBOX_ALLOWED_ORIGINS).  Every request
 * carries "Authorization: Bearer <token>"; the token is read once from
 * SKILLBOX_TOKEN_FILE or the systemd credential skillbox-token, and only
 * its SHA-256 digest is kept, so that comparing takes the same time
 * whatever the client sent.
 */
#include "config.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "http_int.h"
#include "log.h"
#include "redact.h"
#include "xmalloc.h"

#define GUARD_CREDENTIAL	"skillbox-token"
#define GUARD_SEPARATORS	", \t\n"

static const char *guard_loopback_hosts[] = {
	"localhost", "127.0.0.1", "[::1]",
};

/* Add a copy of s to a list. */
static void
guard_list_add(char ***list, size_t *n, const char *s, size_t len)
{
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = xstrndup(s, len);
}

/* Split a comma or space separated setting into a list. */
static void
guard_list_parse(char ***list, size_t *n, const char *s)
{
	size_t	len;

	while (*s != '\0') {
		s += strspn(s, GUARD_SEPARATORS);
		if ((len = strcspn(s, GUARD_SEPARATORS)) > 0)
			guard_list_add(list, n, s, len);
		s += len;
	}
}

static void
guard_list_free(char ***list, size_t *n)
{
	size_t	i;

	for (i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*n = 0;
}

/* Is this host name (no port) a loopback one? */
int
guard_loopback(const char *name)
{
	struct in_addr	a;
	size_t		i;

	for (i = 0; i < sizeof(guard_loopback_hosts) /
	    sizeof(guard_loopback_hosts[0]); i++)
		if (strcasecmp(name, guard_loopback_hosts[i]) == 0)
			return (1);
	return (strcmp(name, "::1") == 0 || (inet_pton(AF_INET, name,
	    &a) == 1 && (ntohl(a.s_addr) >> 24) == 127));
}

/*
 * The host name part of "name[:port]" or "[v6]:port" into out; *port
 * points at the port, or is NULL.  -1 if it does not fit or is empty.
 */
static int
guard_split(const char *hp, char *out, size_t outlen, const char **port)
{
	const char	*end, *colon;
	size_t		 len;

	*port = NULL;
	if (hp[0] == '[') {
		if ((end = strchr(hp, ']')) == NULL)
			return (-1);
		end++;
		if (*end == ':')
			*port = end + 1;
		else if (*end != '\0')
			return (-1);
	} else if ((colon = strchr(hp, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		end = colon;
		*port = colon + 1;
	} else
		end = hp + strlen(hp);
	if ((len = (size_t)(end - hp)) == 0 || len >= outlen)
		return (-1);
	memcpy(out, hp, len);
	out[len] = '\0';
	return (0);
}

/* Read the token from its file: visible ASCII, long enough. */
static int
guard_read_token(struct http_guard *g, const char *path, char **cause)
{
	struct sha256	 ctx;
	struct buf	 b;
	const char	*s;
	size_t		 len, i;
	int		 truncated = 0, r = -1;

	buf_init(&b, HTTP_TOKEN_MAX);
	if (buf_read_file(&b, path, HTTP_TOKEN_MAX, &truncated) == -1) {
		xasprintf(cause, "token file %s: %s", path, strerror(errno));
		goto out;
	}
	s = buf_str(&b);
	for (len = buf_len(&b); len > 0 && isspace((unsigned char)s[len - 1]);
	    len--)
		;
	for (i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			break;
	if (truncated || i < len || len < HTTP_TOKEN_MIN) {
		xasprintf(cause, "token file %s: the token must be %d to %d "
		    "visible ASCII characters on one line", path,
		    HTTP_TOKEN_MIN, HTTP_TOKEN_MAX - 1);
		goto out;
	}
	buf_truncate(&b, len);
	sha256_init(&ctx);
	sha256_update(&ctx, buf_str(&b), len);
	sha256_final(&ctx, g->hg_token);
	if (redact_add(buf_str(&b)) == -1)
		log_warnx("the bearer token cannot be registered for "
		    "redaction");
	r = 0;
out:
	if (b.b_data != NULL)
		explicit_bzero(b.b_data, b.b_cap);
	buf_free(&b);
	return (r);
}

/* Where the token is: the setting, else the systemd credential. */
static char *
guard_token_path(const struct sv_config *cfg)
{
	const char	*dir = getenv("CREDENTIALS_DIRECTORY");
	char		*path;

	if (cfg->c_token_file != NULL)
		return (xstrdup(cfg->c_token_file));
	if (dir == NULL || *dir == '\0')
		return (NULL);
	xasprintf(&path, "%s/" GUARD_CREDENTIAL, dir);
	if (access(path, R_OK) == 0)
		return (path);
	free(path);
	return (NULL);
}

/*
 * Set up the guard for a server listening on listen_host (a name or
 * address, no port).  Without a token, refuse unless no_auth.
 */
int
guard_init(struct http_guard *g, const struct sv_config *cfg, int no_auth,
    const char *listen_host, char **cause)
{
	char	*path;
	size_t	 i;

	memset(g, 0, sizeof(*g));
	if (!no_auth) {
		if ((path = guard_token_path(cfg)) == NULL) {
			xasprintf(cause, "no bearer token: set "
			    "SKILLBOX_TOKEN_FILE, or give the credential "
			    GUARD_CREDENTIAL " (systemd LoadCredential=); "
			    "--no-auth is for loopback development only");
			return (-1);
		}
		if (guard_read_token(g, path, cause) == -1) {
			free(path);
			return (-1);
		}
		free(path);
		g->hg_auth = 1;
	}
	if (cfg->c_allowed_hosts != NULL)
		guard_list_parse(&g->hg_hosts, &g->hg_nhosts,
		    cfg->c_allowed_hosts);
	else {
		for (i = 0; i < sizeof(guard_loopback_hosts) /
		    sizeof(guard_loopback_hosts[0]); i++)
			guard_list_add(&g->hg_hosts, &g->hg_nhosts,
			    guard_loopback_hosts[i],
			    strlen(guard_loopback_hosts[i]));
		if (listen_host != NULL && *listen_host != '\0' &&
		    !guard_loopback(listen_host) &&
		    strcmp(listen_host, "0.0.0.0") != 0 &&
		    strcmp(listen_host, "[::]") != 0)
			guard_list_add(&g->hg_hosts, &g->hg_nhosts,
			    listen_host, strlen(listen_host));
	}
	if (cfg->c_allowed_origins != NULL)
		guard_list_parse(&g->hg_origins, &g->hg_norigins,
		    cfg->c_allowed_origins);
	return (0);
}

void
guard_clear(struct http_guard *g)
{
	guard_list_free(&g->hg_hosts, &g->hg_nhosts);
	guard_list_free(&g->hg_origins, &g->hg_norigins);
	explicit_bzero(g->hg_token, sizeof(g->hg_token));
}

/*
 * Is this Host header allowed?  An entry with a port must match whole;
 * one without matches the name at any port.  0 if allowed.
 */
int
guard_host(const struct http_guard *g, const char *host)
{
	char		 name[256], ename[256];
	const char	*port, *eport;
	size_t		 i;

	if (host == NULL || guard_split(host, name, sizeof(name), &port) == -1)
		return (-1);
	for (i = 0; i < g->hg_nhosts; i++) {
		if (guard_split(g->hg_hosts[i], ename, sizeof(ename),
		    &eport) == -1)
			continue;
		if (strcasecmp(name, ename) != 0)
			continue;
		if (eport == NULL || (port != NULL && strcmp(port, eport) == 0))
			return (0);
	}
	return (-1);
}

/* Is this Origin allowed (absent is)?  0 if so. */
int
guard_origin(const struct http_guard *g, const char *origin)
{
	char		 name[256], hp[256];
	const char	*rest, *port;
	size_t		 i, len;

	if (origin == NULL)
		return (0);
	if (g->hg_origins != NULL) {
		for (i = 0; i < g->hg_norigins; i++)
			if (strcasecmp(origin, g->hg_origins[i]) == 0)
				return (0);
		return (-1);
	}
	if (strncasecmp(origin, "http://", 7) == 0)
		rest = origin + 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else
		return (-1);
	if ((len = strcspn(rest, "/")) >= sizeof(hp) || rest[len] != '\0')
		return (-1);
	memcpy(hp, rest, len + 1);
	if (guard_split(hp, name, sizeof(name), &port) == -1)
		return (-1);
	return (guard_loopback(name) ? 0 : -1);
}

/*
 * Check "Authorization: Bearer <token>": 0 if it is the token (or none
 * is required), -1 if there is none, -2 if it is wrong.
 */
int
guard_token(const struct http_guard *g, const char *authz)
{
	struct sha256	ctx;
	uint8_t		got[SHA256_DIGEST_LEN];
	unsigned char	diff = 0;
	size_t		i, len;

	if (!g->hg_auth)
		return (0);
	if (authz == NULL)
		return (-1);
	if (strncasecmp(authz, "Bearer ", 7) != 0)
		return (-2);
	authz += 7;
	authz += strspn(authz, " ");
	for (len = strlen(authz); len > 0 && authz[len - 1] == ' '; len--)
		;
	if (len == 0 || len >= HTTP_TOKEN_MAX)
		return (-2);
	sha256_init(&ctx);
	sha256_update(&ctx, authz, len);
	sha256_final(&ctx, got);
	for (i = 0; i < sizeof(got); i++)
		diff |= got[i] ^ g->hg_token[i];
	return (diff == 0 ? 0 : -2);
}

/*
 * Does an Accept header take this media type ("type/subtype")?  A range
 * matches exactly, as "type/" followed by a star, or as any type at
 * all; parameters are ignored.
 */
int
guard_accepts(const char *accept, const char *type)
{
	const char	*slash = strchr(type, '/');
	size_t		 len, tlen = slash != NULL ? (size_t)(slash - type) : 0;

	if (accept == NULL)
		return (0);
	while (*accept != '\0') {
		accept += strspn(accept, " \t,");
		len = strcspn(accept, ",;");
		while (len > 0 && (accept[len - 1] == ' ' ||
		    accept[len - 1] == '\t'))
			len--;
		if ((len == strlen(type) && strncasecmp(accept, type,
		    len) == 0) ||
		    (len == 3 && strncmp(accept, "*/*", 3) == 0) ||
		    (len == tlen + 2 && strncasecmp(accept, type, tlen) == 0 &&
		    strncmp(accept + tlen, "/*", 2) == 0))
			return (1);
		accept += strcspn(accept, ",");
	}
	return (0);
}
