/*
 * Internals shared by envd.c (configuration, unary calls, files) and
 * envd_proc.c (process streams).
 */
#ifndef WORKER_ENVD_INT_H
#define WORKER_ENVD_INT_H

#include "envd.h"
#include "http.h"

#define ENVD_CONNECT_MS		10000	/* connect timeout */
#define ENVD_UNARY_MS		30000	/* total time of a unary call */
#define ENVD_FILE_LOWSPEED_S	60	/* a file transfer stalled this long */

struct envd {
	struct http_ctx	*nv_http;
	char		*nv_base;	/* base URL, no trailing / */
	char		*nv_id;		/* sandbox id */
	char		*nv_token;	/* X-Access-Token, or NULL */
	int		 nv_routed;	/* send E2b-Sandbox-Id and -Port */
	struct http_req	*nv_active;	/* in flight, for envd_cancel() */
};

struct http_req	*envd_req(struct envd *, enum http_method, const char *);
int		 envd_exec(struct envd *, struct http_req *, char **);
void		 envd_error(struct http_req *, const char *, char **,
		    char **);

#endif /* WORKER_ENVD_INT_H */
