/*
 * Helpers over json-c.  The typed getters say what is wrong and where:
 * on failure they set *cause to a message such as
 * "repo.url: expected a string, got an integer", which the caller frees.
 *
 * Each getter returns 1 when the key was present and valid, 0 when it was
 * absent and not required (the output is left untouched), and -1 with
 * *cause set otherwise.
 */
#ifndef SKILLBOX_JSON_H
#define SKILLBOX_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"

#define J_OPTIONAL	0x0
#define J_REQUIRED	0x1	/* absent is an error */
#define J_NONEMPTY	0x2	/* strings: "" is an error */

#define JSON_MAX_DEPTH	64

struct json_object *json_parse(const char *, size_t, char **);
const char	*json_type_label(const struct json_object *);
const char	*json_str(struct json_object *);

int	json_get_string(struct json_object *, const char *, const char *,
	    int, size_t, const char **, char **);
int	json_get_int(struct json_object *, const char *, const char *, int,
	    int64_t, int64_t, int64_t *, char **);
int	json_get_bool(struct json_object *, const char *, const char *, int,
	    int *, char **);
int	json_get_object(struct json_object *, const char *, const char *,
	    int, struct json_object **, char **);
int	json_get_array(struct json_object *, const char *, const char *,
	    int, size_t, struct json_object **, char **);

const char	*json_peek_string(struct json_object *, const char *);
int64_t		 json_peek_int(struct json_object *, const char *, int64_t);

void	json_add_string(struct json_object *, const char *, const char *);
void	json_add_stringn(struct json_object *, const char *, const char *,
	    size_t);
void	json_add_int(struct json_object *, const char *, int64_t);
void	json_add_bool(struct json_object *, const char *, int);
int	json_escape(struct buf *, const char *, size_t);

#endif /* SKILLBOX_JSON_H */
