/*
 * Cleaning text for the outside world: redact() it, make it valid UTF-8
 * and clip it to a byte budget with a truncation marker, in that order,
 * so that a secret is never cut in half before redaction sees it.  Only
 * the budget plus CLEAN_SLACK bytes are examined, so cleaning a huge text
 * costs no more than cleaning a short one; the rest is counted in the
 * marker.
 */
#ifndef SKILLBOX_CLEAN_H
#define SKILLBOX_CLEAN_H

#include <stddef.h>

#include <json-c/json.h>

#define CLEAN_SLACK	(8 * 1024)
#define CLEAN_NOLIMIT	((size_t)-1 / 4)

char	*clean_text(const char *, size_t, size_t, size_t, size_t *);
struct json_object *clean_json(const char *, size_t, size_t);
void	 clean_add(struct json_object *, const char *, const char *, size_t);

#endif /* SKILLBOX_CLEAN_H */
