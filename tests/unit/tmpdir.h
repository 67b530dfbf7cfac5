/* Scratch directories for the Check suites, removed with all they hold. */
#ifndef TMPDIR_H
#define TMPDIR_H

/* A fresh directory under /tmp; free it with test_rmdir. */
char	*test_tmpdir(void);
/* Remove dir and everything under it, then free the string. */
void	 test_rmdir(char *);

#endif
