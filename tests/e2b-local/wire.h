/*
 * HTTP text that envd and E2B's API parse or print with Go's standard
 * library, redone with the same rules: query strings (url.ParseQuery),
 * media types and their parameters (mime.ParseMediaType), multipart
 * bodies, byte ranges (http.ServeContent), Accept-Encoding negotiation,
 * content types by name or by sniffing, Content-Disposition, Basic auth
 * and HTTP dates.  Pure functions, shared by e2b-local and its agent.
 */
#ifndef E2BL_WIRE_H
#define E2BL_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define WIRE_QUERY_MAX		64	/* parameters in one query string */
#define WIRE_PARTS_MAX		1000	/* parts in one multipart body */

struct wire_param {
	char	*wp_key;
	char	*wp_value;
};

struct wire_query {
	struct wire_param	 wq_params[WIRE_QUERY_MAX];
	size_t			 wq_n;
};

struct wire_part {
	char		*mp_name;	/* form field name */
	char		*mp_filename;	/* NULL when absent */
	const char	*mp_data;	/* points into the body */
	size_t		 mp_len;
};

struct wire_multipart {
	struct wire_part	*mp_parts;
	size_t			 mp_n;
};

/* Results of wire_range_parse. */
#define WIRE_RANGE_NONE		0	/* no Range: the whole body */
#define WIRE_RANGE_ONE		1	/* one satisfiable range */
#define WIRE_RANGE_MANY		2	/* several ranges */
#define WIRE_RANGE_INVALID	-1	/* 416 "invalid range" */
#define WIRE_RANGE_NOOVERLAP	-2	/* 416 "... failed to overlap" */

/* Results of wire_accept_encoding. */
#define WIRE_ENC_IDENTITY	0
#define WIRE_ENC_GZIP		1
#define WIRE_ENC_NONE		-1	/* 406: nothing acceptable */

int		 wire_unescape(const char *, size_t, int, char **);
int		 wire_query_parse(struct wire_query *, const char *, char **);
void		 wire_query_free(struct wire_query *);
const char	*wire_query_get(const struct wire_query *, const char *);

int		 wire_media_type(const char *, char **, char **);
int		 wire_media_param(const char *, const char *, char **);

int		 wire_multipart_parse(struct wire_multipart *, const char *,
		    const char *, size_t, char **);
void		 wire_multipart_free(struct wire_multipart *);

int		 wire_range_parse(const char *, int64_t, int64_t *, int64_t *);
int		 wire_accept_encoding(const char *, int);

const char	*wire_mime_ext(const char *);
const char	*wire_mime_sniff(const void *, size_t);
void		 wire_disposition(struct buf *, const char *, const char *);
int		 wire_basic_user(const char *, char **);
void		 wire_http_date(char *, size_t, time_t);

#endif /* E2BL_WIRE_H */
