/*
 * The runtime directory: a private (0700) skillbox-XXXXXX that holds the
 * socket workers connect to, made in the first usable place of
 * runtime-dir, $RUNTIME_DIRECTORY, $XDG_RUNTIME_DIR, $TMPDIR and /tmp,
 * and removed at exit.  A skillboxd that was killed outright (SIGKILL, a
 * crash, an MCP client that kills its servers) cannot remove its own:
 * the next skillboxd to start in the same place removes every such
 * leftover of this user whose socket nobody listens on any more.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "skillboxd.h"
#include "xmalloc.h"

#define RUNDIR_PREFIX	"skillbox-"
#define RUNDIR_RAND	6		/* mkdtemp's XXXXXX */

static int	rundir_stale(const char *);
static void	rundir_sweep(const char *, const char *);

/*
 * Is dir a runtime directory of this user that a dead skillboxd left:
 * mode 0700, a socket in it, and nobody listening on that socket?
 */
static int
rundir_stale(const char *dir)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	int			 fd, r;

	if (lstat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & 07777) != 0700)
		return (0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
	    RUNDIR_SOCK) >= sizeof(sun.sun_path) ||
	    lstat(sun.sun_path, &sb) == -1 || !S_ISSOCK(sb.st_mode))
		return (0);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (0);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 &&
	    errno == ECONNREFUSED;
	close(fd);
	return (r);
}

/* Remove the stale runtime directories in base, but not ours (mine). */
static void
rundir_sweep(const char *base, const char *mine)
{
	struct dirent	*de;
	DIR		*d;
	char		*dir;

	if ((d = opendir(base)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, RUNDIR_PREFIX,
		    strlen(RUNDIR_PREFIX)) != 0 || strlen(de->d_name) !=
		    strlen(RUNDIR_PREFIX) + RUNDIR_RAND)
			continue;
		xasprintf(&dir, "%s/%s", base, de->d_name);
		if (strcmp(dir, mine) != 0 && rundir_stale(dir) &&
		    rundir_remove(dir) == 0)
			log_info("removed %s, left by a skillboxd that was "
			    "killed", dir);
		free(dir);
	}
	closedir(d);
}

/*
 * Make the runtime directory under the first usable base (conf, the
 * runtime-dir setting, admits no other) whose path leaves room for the
 * socket within max bytes; *dirp gets its path.
 */
int
rundir_create(const char *conf, size_t max, char **dirp, char **cause)
{
	const char	*bases[] = { conf, getenv("RUNTIME_DIRECTORY"),
	    getenv("XDG_RUNTIME_DIR"), getenv("TMPDIR"), "/tmp" };
	char		*dir;
	size_t		 i;

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (bases[i] == NULL || bases[i][0] != '/')
			continue;
		xasprintf(&dir, "%s/" RUNDIR_PREFIX "XXXXXX", bases[i]);
		errno = ENAMETOOLONG;
		if (strlen(dir) + 1 + strlen(RUNDIR_SOCK) <= max &&
		    mkdtemp(dir) != NULL) {
			rundir_sweep(bases[i], dir);
			*dirp = dir;
			return (0);
		}
		free(dir);
		if (i == 0) {	/* runtime-dir was set: no fallback */
			xasprintf(cause, "runtime-dir %s: %s", conf,
			    strerror(errno));
			return (-1);
		}
	}
	xasprintf(cause, "cannot create a runtime directory");
	return (-1);
}

/* Remove a runtime directory and the socket in it; 0 if it is gone. */
int
rundir_remove(const char *dir)
{
	char	*sock;

	xasprintf(&sock, "%s/%s", dir, RUNDIR_SOCK);
	(void)unlink(sock);
	free(sock);
	return (rmdir(dir));
}
