/*
 * The supervisor <-> worker protocol.  Bump PROTO_VERSION when anything
 * below changes.  Never renumber message types: append, and mark retired
 * values unused.
 *
 * One ZeroMQ message is one JSON object of at most PROTO_MAX_MSG bytes,
 * carrying "v" (PROTO_VERSION), "type" (a name below) and "seq" (counting
 * from 1 in each direction).  The same objects, one per line, are what
 * skillbox-worker prints in standalone mode (--job FILE).
 *
 *   hello      w->s  pid, build                 first message of a worker
 *   job        s->w  job_id, spec, secrets, config
 *   sandbox    w->s  id, template               as soon as it exists
 *   phase      w->s  phase (a job_state name), at (ms since job start)
 *   event      w->s  event (one agent event, trimmed and redacted)
 *   log        w->s  level, msg
 *   heartbeat  both  -
 *   result     w->s  result (the job result; terminal)
 *   cancel     s->w  reason
 *   version    s->w  version (the supervisor's; the worker exits)
 */
#ifndef SKILLBOX_PROTO_H
#define SKILLBOX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"

#define PROTO_VERSION		1
#define PROTO_MAX_MSG		(1024 * 1024)
#define PROTO_HEARTBEAT_MS	2000	/* how often each side beats */
#define PROTO_LIVENESS		3	/* missed beats before a worker dies */

enum proto_type {
	MSG_HELLO = 1,
	MSG_JOB,
	MSG_SANDBOX,
	MSG_PHASE,
	MSG_EVENT,
	MSG_LOG,
	MSG_HEARTBEAT,
	MSG_RESULT,
	MSG_CANCEL,
	MSG_VERSION,
	MSG_TYPE_MAX
};

struct proto_msg {
	enum proto_type		 pm_type;
	int64_t			 pm_seq;
	struct json_object	*pm_obj;	/* the whole message, owned */
};

const char		*proto_type_name(enum proto_type);
struct json_object	*proto_new(enum proto_type, int64_t);
int			 proto_encode(struct json_object *, struct buf *);
int			 proto_decode(const char *, size_t, struct proto_msg *,
			     char **);
void			 proto_msg_clear(struct proto_msg *);

#endif /* SKILLBOX_PROTO_H */
