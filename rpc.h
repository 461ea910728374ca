/*
 * The protocol: parsing request lines, routing replies to open calls,
 * and the supervisor's operations.
 */
#ifndef RPC_H
#define RPC_H

#include <sys/types.h>

enum restart_target { RESTART_PARENT, RESTART_GROUP, RESTART_NONE };

/* Hands the connection layer rpc's line, end-of-connection and wait handlers. */
void	 rpc_init(void);
/* Also remembers the current parent: only that process is ever signalled. */
/* original_parent: getppid() as main() first saw it, before any fork. */
void	 rpc_set_restart_target(enum restart_target target, pid_t original_parent);

struct mon_action;

/* The monitors report each action they take here: mon_start_all(rpc_monitor_action). */
void	 rpc_monitor_action(const struct mon_action *action);

#endif
