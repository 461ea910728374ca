/*
 * Intrusive doubly linked lists, in the manner of <sys/queue.h>'s LIST_
 * (which musl does not ship): an element holds its own link, and leaves
 * its list in O(1) without knowing which list it is on.
 *
 *	struct conn { ... DL_ENTRY(conn) flush_link; };
 *	static DL_HEAD(conn) flush_list;
 *	DL_INSERT_HEAD(&flush_list, c, flush_link);
 *	DL_REMOVE(c, flush_link);
 */
#ifndef LIST_H
#define LIST_H

#include <stddef.h>

#define DL_HEAD(type)	struct { struct type *first; }
/* prev points at whatever points at this element: the head's first or the previous element's next. */
#define DL_ENTRY(type)	struct { struct type *next, **prev; }

#define DL_INIT(head)		((head)->first = NULL)
#define DL_FIRST(head)		((head)->first)
#define DL_EMPTY(head)		((head)->first == NULL)
#define DL_NEXT(elm, field)	((elm)->field.next)

#define DL_INSERT_HEAD(head, elm, field) do {					\
	if (((elm)->field.next = (head)->first) != NULL)			\
		(head)->first->field.prev = &(elm)->field.next;			\
	(head)->first = (elm);							\
	(elm)->field.prev = &(head)->first;					\
} while (0)

#define DL_REMOVE(elm, field) do {						\
	if ((elm)->field.next != NULL)						\
		(elm)->field.next->field.prev = (elm)->field.prev;		\
	*(elm)->field.prev = (elm)->field.next;					\
	(elm)->field.next = NULL;						\
	(elm)->field.prev = NULL;						\
} while (0)

#endif
