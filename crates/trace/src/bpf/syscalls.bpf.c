// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Counts the system calls of one container's processes.
 *
 * Attached to the raw_syscalls:sys_enter tracepoint through BTF
 * (tp_btf/sys_enter: no tracefs, no per-event record formatting). For every
 * system call on the host it reads the calling task's namespaces through
 * the kernel's own pointers (CO-RE, see vmlinux.h) and returns at once
 * unless they are the container's.
 *
 * Which namespaces those are is decided before the container exists:
 * before it asks the runtime to create the container, hoist sets
 * parent_tgid to its own process, and the first task below that process
 * (its child, grandchild, ...) whose new PID namespace is not the host's
 * (host_pidns) makes that namespace the target. The runtime's own set-up
 * inside the namespace, its seccomp filter loading (which runc does
 * during create) and the user's first instruction are all counted. Once
 * the container exists hoist confirms the target from /proc (or, for a
 * container sharing the host's PID namespace, switches to its mount
 * namespace, target_mntns). Processes `hoist exec` starts join the same
 * namespaces, so they are counted too; no other process ever is.
 *
 * The counts live in a per-CPU array, one slot per system call number:
 * x86_64 (and x32) calls from 0, calls of 32-bit programs (int 0x80,
 * sysenter: the i386 numbers) from MAX_SYSCALLS. A container that runs
 * for hours costs this map, never a log.
 *
 * The license string is the kernel's condition for
 * bpf_get_current_task_btf(); this file alone is dual-licensed for that.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* Keep in sync with SLOTS_PER_ABI in src/names.rs. */
#define MAX_SYSCALLS 512
_Static_assert((2 * MAX_SYSCALLS & (2 * MAX_SYSCALLS - 1)) == 0,
	       "the slot mask needs a power of two");
/* thread_info.status flag of a task inside an ia32 system call. */
#define TS_COMPAT 0x0002
/* x32 system calls are x86_64 numbers with this bit set. */
#define X32_SYSCALL_BIT 0x40000000
/* How far up from a task its runtime's parent may be (runc: 3). */
#define MAX_ANCESTORS 8

/* Set by hoist (0: none; a task without namespaces reads as 0). */
__u32 target_pidns = 0;
__u32 target_mntns = 0;
__u32 host_pidns = 0;
__u32 parent_tgid = 0;
/* The container's init (host tgid), the reaper of target_pidns. A PID
 * namespace's inode number is freed with it and reused by the next one
 * made: after the container's end, before hoist reads the counts, another
 * container's namespace may carry the number; its reaper tells it apart. */
__u32 target_reaper = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

/* Which slots were used at all, one byte each, set once: hoist reads this
 * through its mapping of .bss and looks up only those counters when the
 * container ends (dozens of lookups instead of one per slot). */
__u8 seen[2 * MAX_SYSCALLS] = {};

/* Whether process `tgid` is an ancestor of `task`.
 *
 * Read with probe reads, not the BTF pointer walks of the hot path: the
 * verifier looks up every pointer it walks by name in the kernel's BTF
 * (a linear search, about 0.3 ms here), and this unrolled loop walked 8
 * of them, two thirds of the program's load time. It runs only until the
 * container's namespace is known, so the helper calls cost nothing later. */
static __always_inline int below(struct task_struct *task, __u32 tgid)
{
	for (int i = 0; i < MAX_ANCESTORS; i++) {
		task = BPF_CORE_READ(task, real_parent);
		if (!task)
			return 0;
		if ((__u32)BPF_CORE_READ(task, tgid) == tgid)
			return 1;
	}
	return 0;
}

/* Whether the current task is in the container, learning its PID
 * namespace from the first task that is. */
static __always_inline int in_container(struct task_struct *task)
{
	struct nsproxy *ns = task->nsproxy;
	struct pid_namespace *children;
	__u32 pidns, target = target_pidns, mntns = target_mntns, parent;

	if (!ns)
		return 0;
	/* A faulting load through a BTF pointer reads 0: no NULL test. */
	children = ns->pid_ns_for_children;
	pidns = children->ns.inum;
	if (target) {
		struct task_struct *reaper;
		__u32 want = target_reaper;

		if (pidns != target)
			return 0;
		if (!want)
			return 1;
		reaper = children->child_reaper;
		return reaper && (__u32)reaper->tgid == want;
	}
	if (mntns)
		return ns->mnt_ns->ns.inum == mntns;
	parent = parent_tgid;
	if (!parent || !pidns || pidns == host_pidns || !below(task, parent))
		return 0;
	target_pidns = pidns;
	return 1;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(count_syscall, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 nr, slot;
	__u64 *count;

	if (!in_container(task))
		return 0;
	nr = (__u32)id & ~X32_SYSCALL_BIT;
	if (nr >= MAX_SYSCALLS)
		return 0;
	if (task->thread_info.status & TS_COMPAT)
		nr += MAX_SYSCALLS;
	/* nr is in range already, but the verifier may have lost the bound
	 * (32-bit compares): the mask, kept from being optimized away,
	 * shows it. */
	slot = nr;
	barrier_var(slot);
	slot &= 2 * MAX_SYSCALLS - 1;
	if (!seen[slot])
		seen[slot] = 1;
	count = bpf_map_lookup_elem(&counts, &nr);
	if (count)
		*count += 1;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
