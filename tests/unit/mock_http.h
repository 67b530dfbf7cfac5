/*
 * A scripted HTTP server for the worker's Check suites: libevent's evhttp
 * in a forked child on 127.0.0.1, answering each request with the first
 * step that matches it, and recording every request (method, URI,
 * headers, body) so that the test can look at what was sent.
 */
#ifndef MOCK_HTTP_H
#define MOCK_HTTP_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

struct mock_step {
	const char	*ms_method;	/* NULL matches any */
	const char	*ms_path;	/* path (no query); NULL matches any */
	int		 ms_times;	/* requests it answers; 0: all */
	int		 ms_status;
	const char	*ms_headers;	/* "Name: value\n" lines */
	const char	*ms_body;
	size_t		 ms_bodylen;	/* 0: strlen(ms_body) */
	size_t		 ms_chunk;	/* send the body in pieces this big */
	int		 ms_delay_ms;	/* before each piece (and the reply) */
	int		 ms_drop;	/* close the connection early, */
	size_t		 ms_drop_at;	/* after this many body bytes */
	int		 ms_hang;	/* send the headers, then nothing */
	int		 ms_ranged;	/* honour "Range: bytes=N-" */
};

struct mock;
struct http_ctx;
struct event_base;

/* The event base and HTTP context of a test (mock_setup/teardown). */
extern struct event_base	*mock_base;
extern struct http_ctx		*mock_ctx;

void		 mock_setup(void);
void		 mock_teardown(void);

struct mock	*mock_start(const struct mock_step *, size_t);
void		 mock_stop(struct mock **);
const char	*mock_url(const struct mock *);
int		 mock_port(const struct mock *);
int		 mock_count(struct mock *);
struct json_object *mock_request(struct mock *, int);
const char	*mock_req_header(struct json_object *, const char *);
char		*mock_req_body(struct json_object *, size_t *);

FILE		*mock_capture_log(void);
char		*mock_captured(FILE *);

#endif /* MOCK_HTTP_H */
