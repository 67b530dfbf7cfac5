/*
 * fake-claude: a fast, deterministic stand-in for the Claude Code CLI in
 * `-p` mode.  It accepts the real CLI's flags, finds skills where the real
 * one does, and plays a scenario (see README) as stream-json, running real
 * shell commands and writing real files on the way.
 */
#ifndef FAKE_CLAUDE_H
#define FAKE_CLAUDE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define FC_VERSION		"2.1.330"
#define FC_MODEL		"claude-opus-5-5"
#define FC_PROMPT_MAX		(1024 * 1024)
#define FC_TOOL_OUTPUT_MAX	30000		/* as the real Bash tool */
#define FC_SKILL_BODY_MAX	(16 * 1024)
#define FC_LIST_MAX		256

enum fc_format {
	FC_TEXT,		/* only the result text */
	FC_JSON,		/* only the result object */
	FC_STREAM_JSON,		/* every event, one per line */
	FC_FORMAT_MAX
};

/* The command line, once parsed. */
struct fc_opts {
	int		 o_print;
	int		 o_verbose;
	enum fc_format	 o_format;
	int		 o_input_stream;	/* --input-format stream-json */
	int		 o_skip_perms;	/* --dangerously-skip-permissions */
	char		*o_perm_mode;	/* --permission-mode */
	char		*o_model;
	char		*o_session_id;
	long		 o_max_turns;	/* 0: no limit */
	char		*o_sources;	/* --setting-sources, NULL if absent */
	int		 o_no_skills;	/* --disable-slash-commands, --bare */
	char		*o_tools[FC_LIST_MAX];	/* --tools */
	size_t		 o_ntools;
	int		 o_tools_set;
	char		*o_allowed[FC_LIST_MAX];	/* --allowedTools */
	size_t		 o_nallowed;
	char		*o_disallowed[FC_LIST_MAX];
	size_t		 o_ndisallowed;
	char		*o_prompt;
};

/* A skill found on disk. */
struct fc_skill {
	char	*k_name;
	char	*k_dir;
};

/* The run: everything the events need. */
struct fc_run {
	struct fc_opts		*r_opts;
	char			 r_session[40];
	char			*r_model;
	char			*r_cwd;
	struct fc_skill		 r_skills[FC_LIST_MAX];
	size_t			 r_nskills;
	const char		*r_tools[FC_LIST_MAX];
	size_t			 r_ntools;
	unsigned		 r_seq;		/* ids and uuids */
	unsigned		 r_msg;		/* assistant messages */
	int			 r_open;	/* a message is in progress */
	long			 r_turns;	/* tool turns taken */
	struct json_object	*r_denials;
	double			 r_cost;
	int64_t			 r_started_ms;
};

/* fake-claude.c */
int64_t	 fc_now_ms(void);

/* emit.c */
void	 emit_line(struct fc_run *, struct json_object *);
void	 emit_init(struct fc_run *);
void	 emit_text(struct fc_run *, const char *, int);
char	*emit_tool_use(struct fc_run *, const char *, struct json_object *);
void	 emit_tool_result(struct fc_run *, const char *, const char *, int,
	    struct json_object *);
void	 emit_user_text(struct fc_run *, const char *);
void	 emit_system(struct fc_run *, const char *, struct json_object *);
void	 emit_result(struct fc_run *, struct json_object *);
void	 emit_uuid(struct fc_run *, char [37]);
void	 emit_huge(struct fc_run *, long);
void	 emit_garbage(long);

/* scenario.c */
struct json_object *scenario_load(const char *, char **);
int	 scenario_run(struct fc_run *, struct json_object *);

/* tools.c */
int	 tool_allowed(struct fc_run *, const char *, int *);
int	 tool_bash(struct fc_run *, struct json_object *);
int	 tool_write(struct fc_run *, struct json_object *);
int	 tool_edit(struct fc_run *, struct json_object *);
int	 tool_skill(struct fc_run *, struct json_object *);

#endif /* FAKE_CLAUDE_H */
