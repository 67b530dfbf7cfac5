/*
 * The queue of jobs waiting for a worker slot: first in, first out, and
 * bounded, so that a flood of submissions is refused with a clear error
 * instead of growing without limit.
 */
#include "config.h"

#include <errno.h>

#include "skillboxd.h"

/* An empty queue that holds at most max jobs. */
void
queue_init(struct queue *q, size_t max)
{
	TAILQ_INIT(&q->q_jobs);
	q->q_len = 0;
	q->q_max = max;
}

int
queue_full(const struct queue *q)
{
	return (q->q_len >= q->q_max);
}

/* Add a job at the back; -1 with ENOSPC when the queue is full. */
int
queue_push(struct queue *q, struct job *j)
{
	if (queue_full(q)) {
		errno = ENOSPC;
		return (-1);
	}
	TAILQ_INSERT_TAIL(&q->q_jobs, j, j_qentry);
	q->q_len++;
	return (0);
}

/* Take the job at the front, or NULL if none waits. */
struct job *
queue_pop(struct queue *q)
{
	struct job	*j;

	if ((j = TAILQ_FIRST(&q->q_jobs)) == NULL)
		return (NULL);
	TAILQ_REMOVE(&q->q_jobs, j, j_qentry);
	q->q_len--;
	return (j);
}

/* Take a job out wherever it is; the caller knows it is queued. */
void
queue_remove(struct queue *q, struct job *j)
{
	TAILQ_REMOVE(&q->q_jobs, j, j_qentry);
	q->q_len--;
}

/* 1 for the next job to start, 2 for the one after; 0 if not queued. */
size_t
queue_position(const struct queue *q, const struct job *j)
{
	const struct job	*k;
	size_t			 n = 1;

	TAILQ_FOREACH(k, &q->q_jobs, j_qentry) {
		if (k == j)
			return (n);
		n++;
	}
	return (0);
}
