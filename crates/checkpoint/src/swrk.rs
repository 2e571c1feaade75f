//! One request to CRIU over its RPC protocol, `criu swrk`.
//!
//! The messages are rust-criu's types, generated from CRIU's own
//! `rpc.proto`. The conversation is driven here rather than by rust-criu's
//! `Criu` builder because that builder leaves out options hoist sets (the
//! network lock method) and takes notifications through a plain function
//! pointer, with no state of the caller's.
//!
//! The protocol: a `SOCK_SEQPACKET` pair, one end passed to `criu swrk FD`
//! by number; the request goes out as one message, and CRIU answers with
//! zero or more `NOTIFY` messages (each waits for an acknowledgement, and
//! `orphan-pts-master` carries a descriptor) and then one answer of the
//! request's type.

use std::io::IoSliceMut;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use protobuf::{Message, MessageField};
use rust_criu::rust_criu_protobuf::rpc::{Criu_opts, Criu_req, Criu_req_type, Criu_resp};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendFlags, SocketFlags,
    SocketType,
};

/// What went wrong talking to CRIU.
#[derive(Debug, thiserror::Error)]
pub enum SwrkError {
    #[error("cannot start criu: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("talking to criu: {0}")]
    Io(#[from] std::io::Error),
    #[error("criu's message is not valid RPC: {0}")]
    Protobuf(#[from] protobuf::Error),
    #[error("criu failed: {kind} (errno {errno})")]
    Failed { kind: String, errno: i32 },
    #[error("criu answered {got} to a {asked} request")]
    Unexpected { asked: String, got: String },
    #[error("hoist refused CRIU's {0} step")]
    Refused(String),
}

/// Sends one request of `kind` with `opts` to a new `criu swrk` and
/// returns CRIU's answer. `notified` hears each notification by its
/// script name ("pre-restore", "setup-namespaces", ...) and says whether
/// CRIU may go on; CRIU sends them only if `opts` asks for them.
pub fn call(
    kind: Criu_req_type,
    opts: Criu_opts,
    notified: &mut dyn FnMut(&str) -> bool,
) -> Result<Criu_resp, SwrkError> {
    let (ours, theirs) = rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(std::io::Error::from)?;
    // CRIU finds its end by number: it must survive the exec.
    rustix::io::fcntl_setfd(&theirs, rustix::io::FdFlags::empty()).map_err(std::io::Error::from)?;
    let mut criu = Command::new("criu")
        .arg("swrk")
        .arg(theirs.as_raw_fd().to_string())
        .stdin(Stdio::null())
        .spawn()
        .map_err(SwrkError::Spawn)?;
    drop(theirs);
    let answer = converse(&ours, kind, opts, notified);
    // A CRIU whose request failed, or that sees this end closed, undoes
    // what it did (its helper processes, its mount roots under /tmp) and
    // exits; killed at once it would leave them behind. Only a CRIU that
    // does not end in time is killed.
    drop(ours);
    if answer.is_err() {
        end_within(&mut criu, CRIU_CLEAN_UP_TIME);
    }
    let _ = criu.wait();
    answer
}

/// How long a CRIU that failed may take to undo its work and exit.
const CRIU_CLEAN_UP_TIME: Duration = Duration::from_secs(10);

/// Waits for `child` to exit, for at most `limit`; kills it after that.
fn end_within(child: &mut Child, limit: Duration) {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    let _ = child.kill();
}

fn converse(
    sock: &OwnedFd,
    kind: Criu_req_type,
    opts: Criu_opts,
    notified: &mut dyn FnMut(&str) -> bool,
) -> Result<Criu_resp, SwrkError> {
    let mut req = Criu_req::new();
    req.set_type(kind);
    req.opts = MessageField::some(opts);
    send(sock, &req)?;
    loop {
        let resp: Criu_resp = Message::parse_from_bytes(&receive(sock)?)?;
        if !resp.success() {
            return Err(SwrkError::Failed {
                kind: format!("{:?}", resp.type_()),
                errno: resp.cr_errno(),
            });
        }
        if resp.type_() != Criu_req_type::NOTIFY {
            if resp.type_() != kind {
                return Err(SwrkError::Unexpected {
                    asked: format!("{kind:?}"),
                    got: format!("{:?}", resp.type_()),
                });
            }
            return Ok(resp);
        }
        let script = resp.notify.script().to_string();
        let go_on = notified(&script);
        let mut ack = Criu_req::new();
        ack.set_type(Criu_req_type::NOTIFY);
        ack.set_notify_success(go_on);
        send(sock, &ack)?;
        if !go_on {
            return Err(SwrkError::Refused(script));
        }
    }
}

fn send(sock: &OwnedFd, msg: &Criu_req) -> Result<(), SwrkError> {
    let bytes = msg.write_to_bytes()?;
    let sent = rustix::net::send(sock, &bytes, SendFlags::empty()).map_err(std::io::Error::from)?;
    if sent != bytes.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::WriteZero,
            "criu took part of a request",
        )
        .into());
    }
    Ok(())
}

/// One message from CRIU. A descriptor that comes with it (the pty
/// master of `orphan-pts-master`, which hoist does not use) is closed.
fn receive(sock: &OwnedFd) -> Result<Vec<u8>, SwrkError> {
    // Its length first, without taking it from the queue.
    let (_, len) = rustix::net::recv(
        sock.as_fd(),
        &mut [] as &mut [u8],
        RecvFlags::PEEK | RecvFlags::TRUNC,
    )
    .map_err(std::io::Error::from)?;
    if len == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "criu closed the connection without an answer",
        )
        .into());
    }
    let mut buf = vec![0u8; len];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = rustix::net::recvmsg(
        sock,
        &mut [IoSliceMut::new(&mut buf)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(std::io::Error::from)?;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            fds.for_each(drop);
        }
    }
    buf.truncate(got.bytes);
    Ok(buf)
}
