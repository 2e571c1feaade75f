/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A minimal vmlinux.h, checked in: only the kernel types syscalls.bpf.c
 * reads, cut down from `bpftool btf dump file /sys/kernel/btf/vmlinux
 * format c` on a 6.18 kernel. It is not generated at build time so that
 * building hoist needs neither bpftool nor a kernel with BTF on the build
 * machine. The layouts here do not have to match any kernel:
 * preserve_access_index makes clang emit CO-RE relocations, and libbpf
 * fixes every field offset against the running kernel's own BTF
 * (/sys/kernel/btf/vmlinux) when hoist loads the program.
 */
#ifndef HOIST_VMLINUX_H
#define HOIST_VMLINUX_H

/* The integer types bpf_helpers.h and bpf_helper_defs.h use. */
typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __u32 u32;
typedef __u64 u64;
typedef int pid_t;

enum bpf_map_type {
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
};

#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)

struct pt_regs;

struct ns_common {
	unsigned int inum;
};

struct task_struct;

struct pid_namespace {
	struct task_struct *child_reaper;
	struct ns_common ns;
};

struct mnt_namespace {
	struct ns_common ns;
};

struct nsproxy {
	struct mnt_namespace *mnt_ns;
	struct pid_namespace *pid_ns_for_children;
};

struct thread_info {
	u32 status;
};

struct task_struct {
	struct thread_info thread_info;
	pid_t tgid;
	struct task_struct *real_parent;
	struct nsproxy *nsproxy;
};

#pragma clang attribute pop

#endif
