//! The permission sets of udica's rules (its policy format, as it writes
//! them): what a read-write or read-only mount allows per object class,
//! the capabilities it can name, the socket class per protocol.

/// The capabilities udica names in a `capability` rule: the SELinux
/// permission is the name in lower case. Newer ones (PERFMON, BPF,
/// CHECKPOINT_RESTORE) are not among them.
const CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
];

/// The permission of capability `name` (upper case, no `CAP_`).
pub(crate) fn capability(name: &str) -> Option<String> {
    CAPABILITIES
        .contains(&name)
        .then(|| name.to_ascii_lowercase())
}

/// Directories of a read-write mount.
pub(crate) const DIR_RW: &str =
    "add_name create getattr ioctl lock open read remove_name rmdir search setattr write";
/// Directories of a read-only mount.
pub(crate) const DIR_RO: &str = "getattr ioctl lock open read search";
/// Files of a read-write mount.
pub(crate) const FILE_RW: &str =
    "append create getattr ioctl lock map open read rename setattr unlink write";
/// Files of a read-only mount.
pub(crate) const FILE_RO: &str = "getattr ioctl lock open read";
/// Sockets of a read-write mount.
pub(crate) const SOCK_RW: &str = "append getattr open read write";
/// Sockets of a read-only mount.
pub(crate) const SOCK_RO: &str = "getattr open read";

/// The socket class binding a port of `protocol`.
pub(crate) fn socket_class(protocol: &str) -> Option<&'static str> {
    match protocol {
        "tcp" => Some("tcp_socket"),
        "udp" => Some("udp_socket"),
        "sctp" => Some("sctp_socket"),
        _ => None,
    }
}
