/*
 * The E2B control plane: create, get, list, set timeout and kill
 * sandboxes over its REST API.  Every call runs to completion on the
 * worker's event base (http_run) with the control-plane retry policy.
 *
 * The base URL is E2B_API_URL, else https://api.$E2B_DOMAIN, else
 * https://api.e2b.app.  Errors read "E2B: 401 Invalid API key ..." (the
 * HTTP status and E2B's message); the API key is registered with
 * redact_add() and never logged.
 */
#ifndef WORKER_E2B_H
#define WORKER_E2B_H

#include <stddef.h>

#include <json-c/json.h>

#include "http.h"

#define E2B_DOMAIN_DEFAULT	"e2b.app"
#define E2B_ENVD_PORT		49983
#define E2B_LIST_MAX		10000	/* sandboxes one list may return */

/* What to create. */
struct e2b_create {
	const char		*ec_template;	/* template id or alias */
	int			 ec_timeout_s;	/* lifetime; 0: E2B's default */
	const char		*ec_job;	/* metadata skillbox_job */
	const char		*ec_host;	/* metadata skillbox_host */
	struct json_object	*ec_envs;	/* envVars string map, or NULL */
	int			 ec_secure;	/* ask for an envd token */
	int			 ec_internet;	/* allow_internet_access */
};

/* A sandbox as E2B describes it; absent fields are NULL. */
struct e2b_sandbox {
	char			*sb_id;
	char			*sb_template;
	char			*sb_alias;
	char			*sb_token;	/* envdAccessToken */
	char			*sb_envd_version;
	char			*sb_domain;	/* NULL: the default domain */
	char			*sb_state;	/* running, paused */
	char			*sb_end;	/* endAt, RFC 3339 */
	struct json_object	*sb_metadata;	/* string map, or NULL */
};

struct e2b;

struct e2b	*e2b_new(struct http_ctx *, const char *, char **);
void		 e2b_free(struct e2b **);
void		 e2b_set_retry(struct e2b *, const struct http_retry *);
const char	*e2b_api_url(const struct e2b *);
const char	*e2b_domain(const struct e2b *);
int		 e2b_last_attempts(const struct e2b *);

int	e2b_create(struct e2b *, const struct e2b_create *,
	    struct e2b_sandbox **, char **);
int	e2b_get(struct e2b *, const char *, struct e2b_sandbox **, char **);
int	e2b_list(struct e2b *, struct json_object *, struct e2b_sandbox ***,
	    size_t *, char **);
int	e2b_set_timeout(struct e2b *, const char *, int, char **);
int	e2b_set_timeout_async(struct e2b *, const char *, int,
	    http_result_cb, void *, char **);
int	e2b_kill(struct e2b *, const char *, char **);

void	e2b_sandbox_free(struct e2b_sandbox **);
void	e2b_list_free(struct e2b_sandbox ***, size_t);

int	e2b_valid_id(const char *);
int	e2b_valid_token(const char *);
int	e2b_valid_host(const char *);

#endif /* WORKER_E2B_H */
