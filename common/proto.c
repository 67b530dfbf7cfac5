/*
 * The supervisor <-> worker protocol codec.  The decoder checks the header
 * and every required field of the message's type before anything else
 * touches the payload; a message that fails is a peer fault.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "json.h"
#include "proto.h"
#include "xmalloc.h"

/* A required field: its key and JSON type. */
struct proto_field {
	const char	*pf_key;
	json_type	 pf_type;
};

static const struct {
	const char		*name;
	struct proto_field	 fields[4];
} proto_types[MSG_TYPE_MAX] = {
	[MSG_HELLO] = { "hello",
	    { { "pid", json_type_int }, { "build", json_type_string } } },
	[MSG_JOB] = { "job",
	    { { "job_id", json_type_string }, { "spec", json_type_object },
	      { "secrets", json_type_object },
	      { "config", json_type_object } } },
	[MSG_SANDBOX] = { "sandbox",
	    { { "id", json_type_string }, { "template", json_type_string } } },
	[MSG_PHASE] = { "phase",
	    { { "phase", json_type_string }, { "at", json_type_int } } },
	[MSG_EVENT] = { "event", { { "event", json_type_object } } },
	[MSG_LOG] = { "log",
	    { { "level", json_type_string }, { "msg", json_type_string } } },
	[MSG_HEARTBEAT] = { "heartbeat", { { NULL, json_type_null } } },
	[MSG_RESULT] = { "result", { { "result", json_type_object } } },
	[MSG_CANCEL] = { "cancel", { { "reason", json_type_string } } },
	[MSG_VERSION] = { "version", { { "version", json_type_int } } },
};

static int	proto_check_fields(struct json_object *, enum proto_type,
		    char **);

const char *
proto_type_name(enum proto_type t)
{
	if (t <= 0 || t >= MSG_TYPE_MAX)
		return ("unknown");
	return (proto_types[t].name);
}

/* A new message of type t; the caller adds the payload fields. */
struct json_object *
proto_new(enum proto_type t, int64_t seq)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_add_int(o, "v", PROTO_VERSION);
	json_add_string(o, "type", proto_type_name(t));
	json_add_int(o, "seq", seq);
	return (o);
}

/* Serialise a message into out; -1 with EMSGSIZE if it is too large. */
int
proto_encode(struct json_object *o, struct buf *out)
{
	const char	*s;
	size_t		 len;

	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (len > PROTO_MAX_MSG) {
		errno = EMSGSIZE;
		return (-1);
	}
	return (buf_add(out, s, len));
}

static int
proto_check_fields(struct json_object *o, enum proto_type t, char **cause)
{
	const struct proto_field	*f;
	struct json_object		*v;
	size_t				 i;

	for (i = 0; i < 4; i++) {
		f = &proto_types[t].fields[i];
		if (f->pf_key == NULL)
			break;
		if (!json_object_object_get_ex(o, f->pf_key, &v) ||
		    !json_object_is_type(v, f->pf_type)) {
			xasprintf(cause, "%s message: field %s missing or of "
			    "the wrong type", proto_types[t].name, f->pf_key);
			return (-1);
		}
	}
	return (0);
}

/*
 * Decode and validate one message.  On success msg owns the parsed object;
 * release it with proto_msg_clear.
 */
int
proto_decode(const char *data, size_t len, struct proto_msg *msg,
    char **cause)
{
	struct json_object	*o;
	const char		*type;
	int64_t			 v, seq;
	int			 t;

	memset(msg, 0, sizeof(*msg));
	if (len > PROTO_MAX_MSG) {
		xasprintf(cause, "message of %zu bytes is too large", len);
		return (-1);
	}
	if ((o = json_parse(data, len, cause)) == NULL)
		return (-1);
	if (json_get_int(o, NULL, "v", J_REQUIRED, 0, INT32_MAX, &v,
	    cause) == -1 ||
	    json_get_string(o, NULL, "type", J_REQUIRED, 32, &type,
	    cause) == -1 ||
	    json_get_int(o, NULL, "seq", J_REQUIRED, 1, INT64_MAX, &seq,
	    cause) == -1)
		goto fail;
	for (t = 1; t < MSG_TYPE_MAX; t++)
		if (strcmp(type, proto_types[t].name) == 0)
			break;
	if (t == MSG_TYPE_MAX) {
		xasprintf(cause, "unknown message type '%.32s'", type);
		goto fail;
	}
	if (v != PROTO_VERSION && t != MSG_HELLO && t != MSG_VERSION) {
		xasprintf(cause, "protocol version %lld, expected %d",
		    (long long)v, PROTO_VERSION);
		goto fail;
	}
	if (proto_check_fields(o, (enum proto_type)t, cause) == -1)
		goto fail;
	msg->pm_type = (enum proto_type)t;
	msg->pm_seq = seq;
	msg->pm_obj = o;
	return (0);
fail:
	json_object_put(o);
	return (-1);
}

void
proto_msg_clear(struct proto_msg *msg)
{
	json_object_put(msg->pm_obj);
	memset(msg, 0, sizeof(*msg));
}
