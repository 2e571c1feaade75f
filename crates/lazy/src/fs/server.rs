//! The FUSE request handlers: metadata from the inode table, inline; file
//! contents from the chunk reader, on the worker pool.

use std::ffi::OsStr;
use std::io;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, InitFlags,
    KernelConfig, LockOwner, OpenAccMode, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory,
    ReplyEntry, ReplyOpen, ReplyStatfs, ReplyXattr, Request,
};

use super::pool::Pool;
use super::read::read_range;
use super::tree::{Kind, Node, Tree, OPAQUE_XATTR};
use super::{AccessLog, ChunkReader, LayerFs};

/// How long the kernel may cache attributes and names (including negative
/// lookups). A layer's content never changes, so: as long as it likes.
const TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// Threads answering reads. Each may be blocked on a download; a handful
/// lets several files (and readahead of one) load at once.
const READ_WORKERS: usize = 8;

/// Block size reported by statfs.
const BLOCK_SIZE: u32 = 4096;

pub(crate) struct Server {
    tree: Arc<Tree>,
    reader: Arc<dyn ChunkReader>,
    access_log: Option<Arc<AccessLog>>,
    pool: Pool,
}

impl Server {
    pub(crate) fn new(fs: LayerFs) -> io::Result<Server> {
        Ok(Server {
            tree: fs.tree,
            reader: fs.reader,
            access_log: fs.opts.access_log,
            pool: Pool::new(READ_WORKERS)?,
        })
    }

    /// The root directory's permission bits, for the mount's `rootmode`.
    pub(crate) fn root_perm(&self) -> u16 {
        self.tree.get(super::tree::ROOT).map_or(0o755, |n| n.perm)
    }

    fn record(&self, node: &Node) {
        if let Some(log) = &self.access_log {
            log.record(&node.name);
        }
    }
}

fn file_type(node: &Node) -> FileType {
    match node.kind {
        Kind::Dir { .. } => FileType::Directory,
        Kind::File { .. } => FileType::RegularFile,
        Kind::Symlink { .. } => FileType::Symlink,
        Kind::Char { .. } => FileType::CharDevice,
        Kind::Block { .. } => FileType::BlockDevice,
        Kind::Fifo => FileType::NamedPipe,
    }
}

/// The answer to a lookup of a name that does not exist: inode 0 tells the
/// kernel to cache the absence for the entry TTL. Overlayfs looks every name
/// up in each lower layer, so most lookups here are misses.
fn negative_entry() -> FileAttr {
    FileAttr {
        ino: INodeNo(0),
        size: 0,
        blocks: 0,
        atime: UNIX_EPOCH,
        mtime: UNIX_EPOCH,
        ctime: UNIX_EPOCH,
        crtime: UNIX_EPOCH,
        kind: FileType::RegularFile,
        perm: 0,
        nlink: 0,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: BLOCK_SIZE,
        flags: 0,
    }
}

/// Answers getxattr/listxattr: the size when asked for it (`size` 0),
/// ERANGE when the caller's buffer is too small.
fn reply_xattr(reply: ReplyXattr, value: &[u8], size: u32) {
    match u32::try_from(value.len()) {
        Ok(len) if size == 0 => reply.size(len),
        Ok(len) if len <= size => reply.data(value),
        _ => reply.error(Errno::ERANGE),
    }
}

impl Filesystem for Server {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        // Cache symlink targets in the page cache; let lookups and readdirs
        // in one directory run in parallel (nothing here needs the kernel's
        // per-directory lock).
        for cap in [
            InitFlags::FUSE_CACHE_SYMLINKS,
            InitFlags::FUSE_PARALLEL_DIROPS,
        ] {
            if let Err(missing) = config.add_capabilities(cap) {
                tracing::debug!(?missing, "kernel lacks a FUSE capability");
            }
        }
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.tree.get(parent.0).map(|n| &n.kind) {
            Some(Kind::Dir { .. }) => {}
            Some(_) => return reply.error(Errno::ENOTDIR),
            None => return reply.error(Errno::ENOENT),
        }
        let found = name
            .to_str()
            .and_then(|name| self.tree.child(parent.0, name))
            .and_then(|ino| self.tree.attr(ino));
        match found {
            Some(attr) => reply.entry(&TTL, &attr, Generation(0)),
            None => reply.entry(&TTL, &negative_entry(), Generation(0)),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.tree.attr(ino.0) {
            Some(attr) => reply.attr(&TTL, &attr),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.tree.get(ino.0) {
            Some(
                node @ Node {
                    kind: Kind::Symlink { target },
                    ..
                },
            ) => {
                self.record(node);
                reply.data(target.as_bytes());
            }
            Some(_) => reply.error(Errno::EINVAL),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let Some(node) = self.tree.get(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        match node.kind {
            Kind::File { .. } => {}
            Kind::Dir { .. } => return reply.error(Errno::EISDIR),
            _ => return reply.error(Errno::EINVAL),
        }
        if flags.acc_mode() != OpenAccMode::O_RDONLY {
            return reply.error(Errno::EROFS);
        }
        self.record(node);
        // The content never changes: keep the page cache across opens.
        reply.opened(FileHandle(0), FopenFlags::FOPEN_KEEP_CACHE);
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        len: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let Some(node) = self.tree.get(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let size = match node.kind {
            Kind::File { size, .. } => size,
            Kind::Dir { .. } => return reply.error(Errno::EISDIR),
            _ => return reply.error(Errno::EINVAL),
        };
        self.record(node);
        if offset >= size || len == 0 {
            return reply.data(&[]);
        }
        let tree = Arc::clone(&self.tree);
        let reader = Arc::clone(&self.reader);
        self.pool.run(move || {
            let Some(Node {
                name,
                kind: Kind::File { size, chunks },
                ..
            }) = tree.get(ino.0)
            else {
                return reply.error(Errno::EIO);
            };
            match read_range(&*reader, name, chunks, *size, offset, len) {
                Ok(data) => reply.data(data.bytes()),
                Err(error) => {
                    tracing::error!(
                        file = %name, offset, len, %error,
                        "reading a lazily pulled file failed; the reader gets EIO"
                    );
                    reply.error(Errno::EIO);
                }
            }
        });
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.tree.get(ino.0).map(|n| &n.kind) {
            // Listings never change: let the kernel cache them.
            Some(Kind::Dir { .. }) => reply.opened(
                FileHandle(0),
                FopenFlags::FOPEN_KEEP_CACHE | FopenFlags::FOPEN_CACHE_DIR,
            ),
            Some(_) => reply.error(Errno::ENOTDIR),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let Some(node) = self.tree.get(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let Kind::Dir { parent, children } = &node.kind else {
            return reply.error(Errno::ENOTDIR);
        };
        let dots = [
            (ino.0, FileType::Directory, "."),
            (*parent, FileType::Directory, ".."),
        ];
        let children = children.iter().map(|(name, &child)| {
            let kind = self
                .tree
                .get(child)
                .map_or(FileType::RegularFile, file_type);
            (child, kind, name.as_str())
        });
        // The offset of an entry is its position plus one: where to resume.
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        for (position, (child, kind, name)) in
            dots.into_iter().chain(children).enumerate().skip(skip)
        {
            if reply.add(INodeNo(child), position as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let (bytes, files) = self.tree.usage();
        let blocks = bytes.div_ceil(u64::from(BLOCK_SIZE));
        reply.statfs(blocks, 0, 0, files, 0, BLOCK_SIZE, 255, BLOCK_SIZE);
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let Some(node) = self.tree.get(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let Some(name) = name.to_str() else {
            return reply.error(Errno::NO_XATTR);
        };
        if node.opaque && name == OPAQUE_XATTR {
            return reply_xattr(reply, b"y", size);
        }
        match node.xattrs.get(name) {
            Some(value) => reply_xattr(reply, value, size),
            None => reply.error(Errno::NO_XATTR),
        }
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let Some(node) = self.tree.get(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let mut names = Vec::new();
        let opaque = node.opaque.then_some(OPAQUE_XATTR);
        for name in node.xattrs.keys().map(String::as_str).chain(opaque) {
            names.extend_from_slice(name.as_bytes());
            names.push(0);
        }
        reply_xattr(reply, &names, size);
    }
}
