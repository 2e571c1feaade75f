//! This thread's signal mask, blocked around a clone or fork so that no
//! handler of the process runs in the child before it is ready.

/// Blocks every signal in this thread; returns the mask before.
pub(crate) fn block_all() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data, initialized by sigfillset/sigprocmask
    // before it is read; the calls only touch this thread's mask.
    #[allow(unsafe_code)]
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        old
    }
}

/// Sets this thread's mask to `mask` (one [`block_all`] returned).
pub(crate) fn set_mask(mask: &libc::sigset_t) {
    // SAFETY: `mask` is a valid signal set; only this thread's mask changes.
    #[allow(unsafe_code)]
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, mask, std::ptr::null_mut());
    }
}
