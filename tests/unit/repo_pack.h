/* The repository's own Skills pack, for the Check suites that ship it. */
#ifndef REPO_PACK_H
#define REPO_PACK_H

#include <stddef.h>

/* Its directory (free it), and its digest in digest. */
char	*repo_pack(char *digest, size_t len);

#endif
