/*
 * fake-claude: the command line, the checks the real CLI makes before it
 * starts, skill discovery, and main().
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "sha256.h"
#include "xmalloc.h"
#include "fake-claude.h"

enum fc_arg {
	ARG_NONE,		/* a switch */
	ARG_ONE,		/* <value> */
	ARG_OPT,		/* [value]: the next word unless an option */
	ARG_MANY,		/* <values...>: every word up to an option */
	ARG_MAX
};

enum fc_id {
	F_IGNORED,		/* accepted, no effect here */
	F_PRINT, F_VERBOSE, F_OUTPUT, F_INPUT, F_SKIP_PERMS, F_PERM_MODE,
	F_MODEL, F_SESSION, F_MAX_TURNS, F_SOURCES, F_NO_SKILLS, F_TOOLS,
	F_ALLOWED, F_DISALLOWED, F_VERSION, F_HELP, F_INTERACTIVE,
	F_ID_MAX
};

struct fc_flag {
	const char	*f_long;
	const char	*f_alias;
	char		 f_short;
	enum fc_arg	 f_arg;
	enum fc_id	 f_id;
};

/* The options of claude 2.1.330 (`claude --help`, plus --max-turns). */
static const struct fc_flag fc_flags[] = {
	{ "--add-dir", NULL, 0, ARG_MANY, F_IGNORED },
	{ "--agent", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--agents", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--allow-dangerously-skip-permissions", NULL, 0, ARG_NONE,
	    F_IGNORED },
	{ "--allowedTools", "--allowed-tools", 0, ARG_MANY, F_ALLOWED },
	{ "--append-system-prompt", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--append-system-prompt-file", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--autocompact", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--ax-screen-reader", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--bg", "--background", 0, ARG_NONE, F_INTERACTIVE },
	{ "--bare", NULL, 0, ARG_NONE, F_NO_SKILLS },
	{ "--betas", NULL, 0, ARG_MANY, F_IGNORED },
	{ "--brief", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--chrome", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--cloud", NULL, 0, ARG_OPT, F_INTERACTIVE },
	{ "--continue", NULL, 'c', ARG_NONE, F_IGNORED },
	{ "--dangerously-skip-permissions", NULL, 0, ARG_NONE, F_SKIP_PERMS },
	{ "--debug", NULL, 'd', ARG_OPT, F_IGNORED },
	{ "--debug-file", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--desktop", NULL, 0, ARG_NONE, F_INTERACTIVE },
	{ "--disable-slash-commands", NULL, 0, ARG_NONE, F_NO_SKILLS },
	{ "--disallowedTools", "--disallowed-tools", 0, ARG_MANY,
	    F_DISALLOWED },
	{ "--effort", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--environment", NULL, 0, ARG_ONE, F_INTERACTIVE },
	{ "--exclude-dynamic-system-prompt-sections", NULL, 0, ARG_NONE,
	    F_IGNORED },
	{ "--fallback-model", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--file", NULL, 0, ARG_MANY, F_IGNORED },
	{ "--fork-session", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--forward-subagent-text", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--from-pr", NULL, 0, ARG_OPT, F_INTERACTIVE },
	{ "--help", NULL, 'h', ARG_NONE, F_HELP },
	{ "--ide", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--include-hook-events", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--include-partial-messages", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--input-format", NULL, 0, ARG_ONE, F_INPUT },
	{ "--json-schema", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--max-budget-usd", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--max-turns", NULL, 0, ARG_ONE, F_MAX_TURNS },
	{ "--mcp-config", NULL, 0, ARG_MANY, F_IGNORED },
	{ "--model", NULL, 0, ARG_ONE, F_MODEL },
	{ "--name", NULL, 'n', ARG_ONE, F_IGNORED },
	{ "--no-chrome", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--no-session-persistence", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--output-format", NULL, 0, ARG_ONE, F_OUTPUT },
	{ "--permission-mode", NULL, 0, ARG_ONE, F_PERM_MODE },
	{ "--permission-prompts", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--plugin-dir", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--plugin-url", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--print", NULL, 'p', ARG_NONE, F_PRINT },
	{ "--prompt-suggestions", NULL, 0, ARG_OPT, F_IGNORED },
	{ "--remote-control", NULL, 0, ARG_OPT, F_INTERACTIVE },
	{ "--remote-control-session-name-prefix", NULL, 0, ARG_ONE,
	    F_IGNORED },
	{ "--replay-user-messages", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--restricted", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--resume", NULL, 'r', ARG_OPT, F_IGNORED },
	{ "--safe-mode", NULL, 0, ARG_NONE, F_NO_SKILLS },
	{ "--session-id", NULL, 0, ARG_ONE, F_SESSION },
	{ "--setting-sources", NULL, 0, ARG_ONE, F_SOURCES },
	{ "--settings", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--strict-mcp-config", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--system-prompt", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--system-prompt-file", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--system-prompt-snapshot", NULL, 0, ARG_ONE, F_IGNORED },
	{ "--teleport", NULL, 0, ARG_OPT, F_INTERACTIVE },
	{ "--tmux", NULL, 0, ARG_NONE, F_IGNORED },
	{ "--tools", NULL, 0, ARG_MANY, F_TOOLS },
	{ "--verbose", NULL, 0, ARG_NONE, F_VERBOSE },
	{ "--version", NULL, 'v', ARG_NONE, F_VERSION },
	{ "--worktree", NULL, 'w', ARG_OPT, F_IGNORED },
};
#define FC_NFLAGS	(sizeof(fc_flags) / sizeof(fc_flags[0]))

/* The tools of a default session, as init lists them. */
static const char *const fc_default_tools[] = {
	"Task", "Bash", "CronCreate", "CronDelete", "CronList", "Edit",
	"EnterWorktree", "ExitWorktree", "ListAgents", "Monitor",
	"NotebookEdit", "Read", "ReportFindings", "ScheduleWakeup",
	"SendMessage", "Skill", "TaskStop", "ToolSearch", "WebFetch",
	"WebSearch", "Workflow", "Write", NULL
};

static void	usage_error(const char *, ...)
		    __attribute__((__format__(printf, 1, 2), __noreturn__));
static const struct fc_flag *flag_find(const char *, size_t);
static void	flag_apply(struct fc_opts *, const struct fc_flag *,
		    const char *);
static void	opts_parse(struct fc_opts *, int, char **);
static void	list_add(char **, size_t *, const char *);
static int	choice(const char *, const char *const *);
static void	opts_check(struct fc_opts *);
static char	*prompt_read(int);
static void	skills_scan(struct fc_run *, const char *);
static void	skills_find(struct fc_run *);
static void	tools_pick(struct fc_run *);
static void	session_pick(struct fc_run *);
static const char *model_pick(const char *);
static int	uuid_valid(const char *);

/* Print a commander-style error and exit 1, as the real CLI does. */
static void
usage_error(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

int64_t
fc_now_ms(void)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	return ((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

/* The option named by the first len bytes of arg ("--x" or "-x"). */
static const struct fc_flag *
flag_find(const char *arg, size_t len)
{
	size_t	i;

	for (i = 0; i < FC_NFLAGS; i++) {
		if ((strlen(fc_flags[i].f_long) == len &&
		    strncmp(fc_flags[i].f_long, arg, len) == 0) ||
		    (fc_flags[i].f_alias != NULL &&
		    strlen(fc_flags[i].f_alias) == len &&
		    strncmp(fc_flags[i].f_alias, arg, len) == 0))
			return (&fc_flags[i]);
		if (len == 2 && arg[0] == '-' && arg[1] != '-' &&
		    fc_flags[i].f_short == arg[1])
			return (&fc_flags[i]);
	}
	return (NULL);
}

/* Add the comma- or space-separated names in s to a list. */
static void
list_add(char **list, size_t *n, const char *s)
{
	char	*copy, *w, *save = NULL;

	copy = xstrdup(s);
	for (w = strtok_r(copy, ", ", &save); w != NULL;
	    w = strtok_r(NULL, ", ", &save))
		if (*n < FC_LIST_MAX)
			list[(*n)++] = xstrdup(w);
	free(copy);
}

static int
choice(const char *v, const char *const *choices)
{
	size_t	i;

	for (i = 0; choices[i] != NULL; i++)
		if (strcmp(v, choices[i]) == 0)
			return ((int)i);
	return (-1);
}

/* Record one option's value (v is NULL for a switch). */
static void
flag_apply(struct fc_opts *o, const struct fc_flag *f, const char *v)
{
	static const char *const formats[] = { "text", "json", "stream-json",
	    NULL };
	static const char *const modes[] = { "acceptEdits", "auto",
	    "bypassPermissions", "manual", "dontAsk", "plan", "default",
	    NULL };
	char	*end;

	switch (f->f_id) {
	case F_PRINT:
		o->o_print = 1;
		break;
	case F_VERBOSE:
		o->o_verbose = 1;
		break;
	case F_OUTPUT:
		if (choice(v, formats) == -1)
			usage_error("error: option '--output-format <format>' "
			    "argument '%s' is invalid. Allowed choices are "
			    "text, json, stream-json.", v);
		o->o_format = (enum fc_format)choice(v, formats);
		break;
	case F_INPUT:
		if (strcmp(v, "text") != 0 && strcmp(v, "stream-json") != 0)
			usage_error("error: option '--input-format <format>' "
			    "argument '%s' is invalid. Allowed choices are "
			    "text, stream-json.", v);
		o->o_input_stream = strcmp(v, "stream-json") == 0;
		break;
	case F_SKIP_PERMS:
		o->o_skip_perms = 1;
		break;
	case F_PERM_MODE:
		if (choice(v, modes) == -1)
			usage_error("error: option '--permission-mode <mode>' "
			    "argument '%s' is invalid. Allowed choices are "
			    "acceptEdits, auto, bypassPermissions, manual, "
			    "dontAsk, plan.", v);
		free(o->o_perm_mode);
		o->o_perm_mode = xstrdup(v);
		break;
	case F_MODEL:
		free(o->o_model);
		o->o_model = xstrdup(v);
		break;
	case F_SESSION:
		free(o->o_session_id);
		o->o_session_id = xstrdup(v);
		break;
	case F_MAX_TURNS:
		o->o_max_turns = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || o->o_max_turns <= 0)
			usage_error("Error: --max-turns must be a positive "
			    "integer, got '%s'", v);
		break;
	case F_SOURCES:
		free(o->o_sources);
		o->o_sources = xstrdup(v);
		break;
	case F_NO_SKILLS:
		o->o_no_skills = 1;
		break;
	case F_TOOLS:
		o->o_tools_set = 1;
		list_add(o->o_tools, &o->o_ntools, v);
		break;
	case F_ALLOWED:
		list_add(o->o_allowed, &o->o_nallowed, v);
		break;
	case F_DISALLOWED:
		list_add(o->o_disallowed, &o->o_ndisallowed, v);
		break;
	case F_VERSION:
		printf("%s (Claude Code)\n", FC_VERSION);
		exit(0);
	case F_HELP:
		printf("Usage: claude [options] [command] [prompt]\n\n"
		    "fake-claude: a test double of Claude Code %s; only "
		    "-p/--print is supported.\n", FC_VERSION);
		exit(0);
	case F_INTERACTIVE:
		usage_error("fake-claude: %s is not supported", f->f_long);
	default:
		break;
	}
}

/*
 * Parse argv as commander does: "--opt=value" or "--opt value"; an
 * optional value is taken only if the next word is not an option; a
 * variadic option takes every following word up to the next option.
 */
static void
opts_parse(struct fc_opts *o, int argc, char **argv)
{
	const struct fc_flag	*f;
	const char		*a, *eq;
	int			 i, nargs = 0, rest = 0;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (rest || a[0] != '-' || a[1] == '\0') {
			if (nargs++ > 0)
				usage_error("error: too many arguments. "
				    "Expected 1 argument but got %d.", nargs);
			o->o_prompt = xstrdup(a);
			continue;
		}
		if (strcmp(a, "--") == 0) {
			rest = 1;
			continue;
		}
		eq = a[1] == '-' ? strchr(a, '=') : NULL;
		f = flag_find(a, eq != NULL ? (size_t)(eq - a) : strlen(a));
		if (f == NULL)
			usage_error("error: unknown option '%s'", a);
		if (f->f_arg == ARG_NONE) {
			if (eq != NULL)
				usage_error("error: unknown option '%s'", a);
			flag_apply(o, f, NULL);
			continue;
		}
		if (eq != NULL)
			flag_apply(o, f, eq + 1);
		else if (i + 1 < argc && (argv[i + 1][0] != '-' ||
		    f->f_arg == ARG_ONE))
			flag_apply(o, f, argv[++i]);
		else if (f->f_arg != ARG_OPT)
			usage_error("error: option '%s' argument missing",
			    f->f_long);
		while (f->f_arg == ARG_MANY && i + 1 < argc &&
		    argv[i + 1][0] != '-')
			flag_apply(o, f, argv[++i]);
	}
}

/* The checks the real CLI makes before it does anything. */
static void
opts_check(struct fc_opts *o)
{
	const char	*sb = getenv("IS_SANDBOX");
	int		 bypass;

	bypass = o->o_skip_perms || (o->o_perm_mode != NULL &&
	    strcmp(o->o_perm_mode, "bypassPermissions") == 0);
	if (bypass && geteuid() == 0 && (sb == NULL || strcmp(sb, "1") != 0) &&
	    getenv("CLAUDE_CODE_BUBBLEWRAP") == NULL)
		usage_error("--dangerously-skip-permissions cannot be used "
		    "with root/sudo privileges for security reasons");
	if (!o->o_print)
		usage_error("fake-claude: interactive mode is not supported; "
		    "use -p");
	if (o->o_format == FC_STREAM_JSON && !o->o_verbose)
		usage_error("Error: When using --print, "
		    "--output-format=stream-json requires --verbose");
	if (o->o_session_id != NULL && !uuid_valid(o->o_session_id))
		usage_error("Error: Invalid session ID. Must be a valid UUID.");
	if (o->o_prompt == NULL)
		o->o_prompt = prompt_read(o->o_input_stream);
	if (o->o_prompt == NULL || *o->o_prompt == '\0')
		usage_error("Error: Input must be provided either through "
		    "stdin or as a prompt argument when using --print");
}

/* The prompt from stdin: plain text, or the first stream-json message. */
static char *
prompt_read(int stream)
{
	struct json_object	*o, *msg, *c;
	struct buf		 b;
	char			 chunk[8192], *nl, *p;
	size_t			 n;

	if (isatty(STDIN_FILENO))
		return (NULL);
	buf_init(&b, FC_PROMPT_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_add(&b, chunk, n) == -1)
			usage_error("Error: the prompt is too long");
	p = buf_detach(&b, NULL);
	if (!stream)
		return (p);
	if ((nl = strchr(p, '\n')) != NULL)
		*nl = '\0';
	o = json_tokener_parse(p);
	free(p);
	if (o == NULL || !json_object_object_get_ex(o, "message", &msg) ||
	    !json_object_object_get_ex(msg, "content", &c) ||
	    !json_object_is_type(c, json_type_string))
		usage_error("Error: expected a stream-json user message on "
		    "stdin");
	p = xstrdup(json_object_get_string(c));
	json_object_put(o);
	return (p);
}

/* True for 8-4-4-4-12 hex digits, as --session-id requires. */
static int
uuid_valid(const char *s)
{
	size_t	i;

	if (strlen(s) != 36)
		return (0);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return (0);
		} else if (!isxdigit((unsigned char)s[i]))
			return (0);
	}
	return (1);
}

/* Add the skills under dir (each a directory with a SKILL.md). */
static void
skills_scan(struct fc_run *r, const char *dir)
{
	struct dirent	**names;
	struct stat	  st;
	char		 *path;
	int		  n, i;
	size_t		  j;

	if ((n = scandir(dir, &names, NULL, alphasort)) < 0)
		return;
	for (i = 0; i < n; i++) {
		xasprintf(&path, "%s/%s/SKILL.md", dir, names[i]->d_name);
		for (j = 0; j < r->r_nskills; j++)
			if (strcmp(r->r_skills[j].k_name,
			    names[i]->d_name) == 0)
				break;
		if (names[i]->d_name[0] != '.' && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode) && j == r->r_nskills &&
		    r->r_nskills < FC_LIST_MAX) {
			r->r_skills[r->r_nskills].k_name =
			    xstrdup(names[i]->d_name);
			xasprintf(&r->r_skills[r->r_nskills++].k_dir, "%s/%s",
			    dir, names[i]->d_name);
		}
		free(path);
		free(names[i]);
	}
	free(names);
}

/*
 * User skills ($CLAUDE_CONFIG_DIR/skills, else ~/.claude/skills), then
 * the project's (.claude/skills), as --setting-sources allows.
 */
static void
skills_find(struct fc_run *r)
{
	const char	*src = r->r_opts->o_sources;
	const char	*cfg = getenv("CLAUDE_CONFIG_DIR");
	const char	*home = getenv("HOME");
	char		*dir;

	if (r->r_opts->o_no_skills)
		return;
	if (src == NULL || strstr(src, "user") != NULL) {
		if (cfg != NULL)
			xasprintf(&dir, "%s/skills", cfg);
		else
			xasprintf(&dir, "%s/.claude/skills", home ? home : "");
		skills_scan(r, dir);
		free(dir);
	}
	if (src == NULL || strstr(src, "project") != NULL) {
		xasprintf(&dir, "%s/.claude/skills", r->r_cwd);
		skills_scan(r, dir);
		free(dir);
	}
}

/* The tools of this session: --tools, less --disallowedTools. */
static void
tools_pick(struct fc_run *r)
{
	struct fc_opts	*o = r->r_opts;
	const char	*t;
	size_t		 i, j;

	for (i = 0; ; i++) {
		if (o->o_tools_set && !(o->o_ntools == 1 &&
		    strcmp(o->o_tools[0], "default") == 0))
			t = i < o->o_ntools ? o->o_tools[i] : NULL;
		else
			t = fc_default_tools[i];
		if (t == NULL)
			break;
		for (j = 0; j < o->o_ndisallowed; j++)
			if (strcmp(o->o_disallowed[j], t) == 0)
				break;
		if (j == o->o_ndisallowed && r->r_ntools < FC_LIST_MAX)
			r->r_tools[r->r_ntools++] = t;
	}
}

/* --session-id, or a UUID derived from the prompt and directory. */
static void
session_pick(struct fc_run *r)
{
	char	hex[SHA256_HEX_LEN + 1], *seed;

	if (r->r_opts->o_session_id != NULL) {
		snprintf(r->r_session, sizeof(r->r_session), "%s",
		    r->r_opts->o_session_id);
		return;
	}
	xasprintf(&seed, "%s\n%s", r->r_cwd, r->r_opts->o_prompt);
	sha256_digest_hex(seed, strlen(seed), hex);
	free(seed);
	snprintf(r->r_session, sizeof(r->r_session),
	    "%.8s-%.4s-4%.3s-a%.3s-%.12s", hex, hex + 8, hex + 12, hex + 15,
	    hex + 18);
}

/* Model aliases as 2.1.330 maps them; anything else passes verbatim. */
static const char *
model_pick(const char *m)
{
	if (m == NULL && (m = getenv("ANTHROPIC_MODEL")) == NULL)
		return (FC_MODEL);
	if (strcmp(m, "opus") == 0)
		return ("claude-opus-5-5");
	if (strcmp(m, "sonnet") == 0)
		return ("claude-sonnet-5-5");
	if (strcmp(m, "haiku") == 0)
		return ("claude-haiku-5-5");
	return (m);
}

/* Parse, check, discover, then play the scenario (which exits). */
int
main(int argc, char **argv)
{
	static struct fc_opts	 o;
	static struct fc_run	 r;
	struct json_object	*sc;
	char			*cause = NULL;

	setvbuf(stdout, NULL, _IOFBF, 64 * 1024);
	opts_parse(&o, argc, argv);
	opts_check(&o);
	r.r_opts = &o;
	r.r_started_ms = fc_now_ms();
	r.r_cwd = getcwd(NULL, 0);
	if (r.r_cwd == NULL)
		r.r_cwd = xstrdup("/");
	r.r_model = xstrdup(model_pick(o.o_model));
	r.r_denials = json_object_new_array();
	skills_find(&r);
	tools_pick(&r);
	session_pick(&r);
	if ((sc = scenario_load(o.o_prompt, &cause)) == NULL) {
		fprintf(stderr, "fake-claude: scenario: %s\n", cause);
		free(cause);
		return (2);
	}
	return (scenario_run(&r, sc));
}
