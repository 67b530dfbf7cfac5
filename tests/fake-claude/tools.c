/*
 * fake-claude: the tools a scenario calls.  They do real work: Bash runs
 * the command with /bin/sh in the working directory, Write and Edit change
 * files, Skill reads the skill's SKILL.md.  Availability (--tools) and
 * permission (--dangerously-skip-permissions, --permission-mode,
 * --allowedTools) are checked as the real CLI does in -p mode.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "frontmatter.h"
#include "json.h"
#include "xmalloc.h"
#include "fake-claude.h"

#define TOOL_FILE_MAX	(8 * 1024 * 1024)

static int	tool_begin(struct fc_run *, const char *, struct json_object *,
		    char **);
static int	name_in(char **, size_t, const char *);
static char	*path_resolve(struct fc_run *, const char *);
static int	mkdirs(const char *);
static int	file_put(const char *, const char *, size_t);
static int	file_get(const char *, struct buf *);
static int	run_shell(struct fc_run *, const char *, struct buf *);

/* True if list holds name, or a rule for it such as "Bash(git *)". */
static int
name_in(char **list, size_t n, const char *name)
{
	size_t	i, len = strlen(name);

	for (i = 0; i < n; i++)
		if (strncmp(list[i], name, len) == 0 &&
		    (list[i][len] == '\0' || list[i][len] == '('))
			return (1);
	return (0);
}

/*
 * May the tool run?  *present says whether the session has it at all.
 * Returns 1 if it may.
 */
int
tool_allowed(struct fc_run *r, const char *name, int *present)
{
	struct fc_opts	*o = r->r_opts;
	const char	*mode = o->o_perm_mode != NULL ? o->o_perm_mode : "";
	int		 edit;
	size_t		 i;

	*present = 0;
	for (i = 0; i < r->r_ntools; i++)
		if (strcmp(r->r_tools[i], name) == 0)
			*present = 1;
	if (!*present || name_in(o->o_disallowed, o->o_ndisallowed, name))
		return (0);
	edit = strcmp(name, "Write") == 0 || strcmp(name, "Edit") == 0;
	return (o->o_skip_perms || strcmp(mode, "bypassPermissions") == 0 ||
	    strcmp(name, "Skill") == 0 ||
	    (edit && strcmp(mode, "acceptEdits") == 0) ||
	    name_in(o->o_allowed, o->o_nallowed, name));
}

/*
 * Emit the tool_use (taking input) and decide: 0 with *id set if the
 * tool may run; -1 after emitting the refusal if it may not.
 */
static int
tool_begin(struct fc_run *r, const char *name, struct json_object *input,
    char **id)
{
	struct json_object	*f, *d;
	char			 msg[256];
	int			 present;

	json_object_get(input);
	*id = emit_tool_use(r, name, input);
	if (tool_allowed(r, name, &present)) {
		json_object_put(input);
		return (0);
	}
	if (!present) {
		snprintf(msg, sizeof(msg), "<tool_use_error>Error: No such "
		    "tool available: %s</tool_use_error>", name);
		emit_tool_result(r, *id, msg, 1, NULL);
	} else {
		snprintf(msg, sizeof(msg), "Claude requested permissions to "
		    "use %s, but you haven't granted it yet.", name);
		f = json_object_new_object();
		json_add_string(f, "tool_name", name);
		json_add_string(f, "tool_use_id", *id);
		json_add_string(f, "message", msg);
		emit_system(r, "permission_denied", f);
		d = json_object_new_object();
		json_add_string(d, "tool_name", name);
		json_add_string(d, "tool_use_id", *id);
		json_object_object_add(d, "tool_input",
		    json_object_get(input));
		json_object_array_add(r->r_denials, d);
		emit_tool_result(r, *id, msg, 1, NULL);
	}
	json_object_put(input);
	free(*id);
	*id = NULL;
	return (-1);
}

/* "~/x" under $HOME, "x" under the working directory, "/x" as is. */
static char *
path_resolve(struct fc_run *r, const char *p)
{
	const char	*home = getenv("HOME");
	char		*out;

	if (p[0] == '~' && p[1] == '/')
		xasprintf(&out, "%s/%s", home != NULL ? home : "", p + 2);
	else if (p[0] == '/')
		out = xstrdup(p);
	else
		xasprintf(&out, "%s/%s", r->r_cwd, p);
	return (out);
}

/* Create the directories leading to path. */
static int
mkdirs(const char *path)
{
	char	*dir, *s;

	dir = xstrdup(path);
	for (s = strchr(dir + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
			free(dir);
			return (-1);
		}
		*s = '/';
	}
	free(dir);
	return (0);
}

/* Write a whole file, creating its directories. */
static int
file_put(const char *path, const char *data, size_t len)
{
	FILE	*f;
	int	 r = 0;

	if (mkdirs(path) == -1 || (f = fopen(path, "w")) == NULL)
		return (-1);
	if (fwrite(data, 1, len, f) != len)
		r = -1;
	if (fclose(f) != 0)
		r = -1;
	return (r);
}

/* Run cmd with sh -c; output (both streams) goes to out.  Exit status. */
static int
run_shell(struct fc_run *r, const char *cmd, struct buf *out)
{
	const char	*sh = access("/bin/sh", X_OK) == 0 ? "/bin/sh" :
	    "/usr/bin/sh";
	char		 chunk[8192];
	ssize_t		 n;
	pid_t		 pid;
	int		 fds[2], st, devnull;

	fflush(stdout);
	if (pipe(fds) == -1 || (pid = fork()) == -1)
		return (-1);
	if (pid == 0) {
		devnull = open("/dev/null", O_RDONLY);
		if (devnull != -1)
			dup2(devnull, STDIN_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		if (chdir(r->r_cwd) == -1)
			_exit(126);
		execl(sh, "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		if (buf_room(out) > 0)
			(void)buf_add(out, chunk, (size_t)n < buf_room(out) ?
			    (size_t)n : buf_room(out));
	}
	close(fds[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	return (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* {"bash": "cmd", "description": "…"}: run it for real. */
int
tool_bash(struct fc_run *r, struct json_object *st)
{
	struct json_object	*in, *res;
	struct buf		 out;
	const char		*cmd = json_peek_string(st, "bash");
	const char		*desc = json_peek_string(st, "description");
	char			*id, *msg;
	int			 code;

	if (cmd == NULL)
		return (-1);
	in = json_object_new_object();
	json_add_string(in, "command", cmd);
	json_add_string(in, "description", desc ? desc : "Run a command");
	if (tool_begin(r, "Bash", in, &id) == -1)
		return (0);
	buf_init(&out, FC_TOOL_OUTPUT_MAX);
	code = run_shell(r, cmd, &out);
	while (buf_len(&out) > 0 && buf_str(&out)[buf_len(&out) - 1] == '\n')
		buf_truncate(&out, buf_len(&out) - 1);
	res = json_object_new_object();
	json_add_string(res, "stdout", buf_str(&out));
	json_add_string(res, "stderr", "");
	json_add_bool(res, "interrupted", 0);
	json_add_bool(res, "isImage", 0);
	if (code == 0)
		emit_tool_result(r, id, buf_str(&out), 0, res);
	else {
		xasprintf(&msg, "Exit code %d\n%s", code, buf_str(&out));
		emit_tool_result(r, id, msg, 1, res);
		free(msg);
	}
	buf_free(&out);
	free(id);
	return (0);
}

/*
 * {"write": "path", "content": "…"} or {"result_json": {…}}, which
 * writes ~/.skillbox/result.json (a string is written as it is).
 */
int
tool_write(struct fc_run *r, struct json_object *st)
{
	struct json_object	*in, *rj;
	const char		*path, *content;
	char			*abs, *id, *msg;

	if (json_object_object_get_ex(st, "result_json", &rj)) {
		path = "~/.skillbox/result.json";
		content = json_object_is_type(rj, json_type_string) ?
		    json_object_get_string(rj) :
		    json_object_to_json_string_ext(rj,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	} else {
		path = json_peek_string(st, "write");
		content = json_peek_string(st, "content");
	}
	if (path == NULL || content == NULL)
		return (-1);
	abs = path_resolve(r, path);
	in = json_object_new_object();
	json_add_string(in, "file_path", abs);
	json_add_string(in, "content", content);
	if (tool_begin(r, "Write", in, &id) == 0) {
		if (file_put(abs, content, strlen(content)) == -1) {
			xasprintf(&msg, "Error writing %s: %s", abs,
			    strerror(errno));
			emit_tool_result(r, id, msg, 1, NULL);
		} else {
			xasprintf(&msg, "File created successfully at: %s",
			    abs);
			emit_tool_result(r, id, msg, 0, NULL);
		}
		free(msg);
		free(id);
	}
	free(abs);
	return (0);
}

/* Read a whole file (bounded) into b. */
static int
file_get(const char *path, struct buf *b)
{
	char	 chunk[8192];
	size_t	 n;
	FILE	*f;
	int	 r = 0;

	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (r == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		r = buf_add(b, chunk, n);
	fclose(f);
	return (r);
}

/* {"edit": "path", "old": "…", "new": "…"}: replace one occurrence. */
int
tool_edit(struct fc_run *r, struct json_object *st)
{
	struct json_object	*in;
	struct buf		 b, nb;
	const char		*path = json_peek_string(st, "edit");
	const char		*old = json_peek_string(st, "old");
	const char		*new = json_peek_string(st, "new");
	const char		*at;
	char			*abs, *id, *msg = NULL;

	if (path == NULL || old == NULL || new == NULL || *old == '\0')
		return (-1);
	abs = path_resolve(r, path);
	in = json_object_new_object();
	json_add_string(in, "file_path", abs);
	json_add_string(in, "old_string", old);
	json_add_string(in, "new_string", new);
	if (tool_begin(r, "Edit", in, &id) == -1) {
		free(abs);
		return (0);
	}
	buf_init(&b, TOOL_FILE_MAX);
	buf_init(&nb, TOOL_FILE_MAX);
	if (file_get(abs, &b) == -1)
		xasprintf(&msg, "File does not exist: %s", abs);
	else if ((at = strstr(buf_str(&b), old)) == NULL)
		xasprintf(&msg, "String to replace not found in file.");
	else if (strstr(at + 1, old) != NULL)
		xasprintf(&msg, "Found several matches of the string to "
		    "replace.");
	else {
		buf_add(&nb, buf_str(&b), (size_t)(at - buf_str(&b)));
		buf_addstr(&nb, new);
		buf_addstr(&nb, at + strlen(old));
		if (file_put(abs, buf_str(&nb), buf_len(&nb)) == -1)
			xasprintf(&msg, "Error writing %s", abs);
	}
	if (msg != NULL)
		emit_tool_result(r, id, msg, 1, NULL);
	else {
		xasprintf(&msg, "The file %s has been updated.", abs);
		emit_tool_result(r, id, msg, 0, NULL);
	}
	free(msg);
	free(id);
	free(abs);
	buf_free(&b);
	buf_free(&nb);
	return (0);
}

/* {"skill": "name"}: launch it and show the agent its SKILL.md body. */
int
tool_skill(struct fc_run *r, struct json_object *st)
{
	static const char *const keys[] = { "name", NULL };
	struct json_object	*in;
	struct buf		 b;
	const char		*name = json_peek_string(st, "skill");
	char			*id, *msg, *path, *vals[1], *cause = NULL;
	size_t			 i, off = 0;

	if (name == NULL)
		return (-1);
	in = json_object_new_object();
	json_add_string(in, "skill", name);
	if (tool_begin(r, "Skill", in, &id) == -1)
		return (0);
	for (i = 0; i < r->r_nskills; i++)
		if (strcmp(r->r_skills[i].k_name, name) == 0)
			break;
	if (i == r->r_nskills) {
		xasprintf(&msg, "<tool_use_error>Unknown skill: %s"
		    "</tool_use_error>", name);
		emit_tool_result(r, id, msg, 1, NULL);
		free(msg);
		free(id);
		return (0);
	}
	xasprintf(&msg, "Launching skill: %s", name);
	emit_tool_result(r, id, msg, 0, NULL);
	free(msg);
	buf_init(&b, FC_SKILL_BODY_MAX);
	xasprintf(&path, "%s/SKILL.md", r->r_skills[i].k_dir);
	(void)file_get(path, &b);
	if (frontmatter_parse(buf_str(&b), buf_len(&b), keys, vals, &off,
	    &cause) == 0)
		free(vals[0]);
	free(cause);
	xasprintf(&msg, "Base directory for this skill: %s\n\n%s",
	    r->r_skills[i].k_dir, buf_str(&b) + off);
	emit_user_text(r, msg);
	free(msg);
	free(path);
	free(id);
	buf_free(&b);
	return (0);
}
