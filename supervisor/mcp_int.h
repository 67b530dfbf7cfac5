/*
 * The MCP core's private parts, shared by mcp.c (messages in, answers
 * out), mcp_life.c (lifecycle methods, the registry of extra methods and
 * capabilities) and mcp_out.c (what the server sends unasked:
 * notifications, progress, logs, and its own requests to the client).
 * Nothing outside those files includes this.
 */
#ifndef MCP_INT_H
#define MCP_INT_H

#include "skillboxd.h"

#define MCP_VERSION_LATEST	"2025-11-25"
#define MCP_VERSION_BATCH	"2025-03-26"
#define MCP_OUT_MAX		64	/* server requests pending per conn */

/* Where a connection is in the lifecycle. */
enum mcp_conn_state {
	MCP_NEW,		/* waiting for initialize */
	MCP_INITIALIZED,	/* initialize answered */
	MCP_READY,		/* notifications/initialized received */
	MCP_CONN_STATE_MAX
};

/* A request the server sent the client, waiting for its response. */
struct mcp_out {
	int64_t			 mo_id;
	struct mcp_req		*mo_req;	/* the request it serves */
	mcp_response_cb		 mo_cb;
	void			*mo_arg;
	TAILQ_ENTRY(mcp_out)	 mo_entry;
};

struct mcp_conn {
	enum mcp_conn_state	 mc_state;
	const struct mcp_transport *mc_tr;
	void			*mc_arg;
	const char		*mc_version;
	enum mcp_level		 mc_level;
	struct json_object	*mc_caps;
	int			 mc_closing;
	char			**mc_subs;	/* subscribed resource URIs */
	size_t			 mc_nsubs;
	TAILQ_HEAD(, mcp_req)	 mc_reqs;	/* requests being handled */
	TAILQ_HEAD(, mcp_out)	 mc_outs;	/* our requests, unanswered */
	size_t			 mc_nouts;
	int64_t			 mc_out_id;	/* the last id we used */
	LIST_ENTRY(mcp_conn)	 mc_entry;
};

/*
 * One input from the transport (a message, or a batch at 2025-03-26):
 * what it came with, and how many of its requests are unanswered.  A
 * batch collects its answers and sends them as one array at the end.
 */
struct mcp_input {
	struct mcp_conn		*mi_conn;
	void			*mi_ctx;	/* the transport's */
	size_t			 mi_pending;	/* +1 while it is being read */
	int			 mi_batch;
	struct buf		 mi_replies;	/* "[r1,r2" so far */
};

/* mcp.c */
void		 mcp_deliver(struct mcp_conn *, struct mcp_input *,
		     enum mcp_send, struct json_object *);
void		 mcp_deliver_text(struct mcp_conn *, struct mcp_input *,
		     enum mcp_send, const char *, size_t);
struct json_object *mcp_message_new(const char *, struct json_object *);
int		 mcp_id_valid(struct json_object *);
void		 mcp_req_abort(struct mcp_req *);

/* mcp_life.c */
void		 mcp_initialize(struct mcp_req *, struct json_object *);
void		 mcp_initialized(struct mcp_req *, struct json_object *);
void		 mcp_ping(struct mcp_req *, struct json_object *);
void		 mcp_cancelled(struct mcp_req *, struct json_object *);
void		 mcp_set_level(struct mcp_req *, struct json_object *);
mcp_handler	 mcp_extra_method(const char *);
void		 mcp_life_fini(void);

/* mcp_out.c */
int		 mcp_out_response(struct mcp_conn *, struct json_object *);
void		 mcp_out_forget(struct mcp_req *);
void		 mcp_out_clear(struct mcp_conn *);

#endif /* MCP_INT_H */
