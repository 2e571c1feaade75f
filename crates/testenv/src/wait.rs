//! Waiting for a condition with a deadline, instead of sleeping for a guessed
//! time: a fixed sleep is either too short on a loaded machine (the test is
//! flaky) or too long everywhere else (the suite is slow).

use std::thread;
use std::time::{Duration, Instant};

/// First pause between polls; it doubles up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(10);
/// Longest pause between polls.
const MAX_POLL: Duration = Duration::from_millis(200);

/// Polls `probe` until it returns `Some`, and returns that value. Panics
/// naming `what` when `timeout` passes first; `probe` runs at least once,
/// and once more at the deadline.
#[track_caller]
pub fn wait_for<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    let mut pause = FIRST_POLL;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        let now = Instant::now();
        if now >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// Polls `cond` until it is true; panics naming `what` when `timeout` passes
/// first. See [`wait_for`].
#[track_caller]
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    wait_for(timeout, what, || cond().then_some(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn returns_as_soon_as_the_condition_holds() {
        let calls = Cell::new(0);
        let v = wait_for(Duration::from_secs(60), "the third call", || {
            calls.set(calls.get() + 1);
            (calls.get() == 3).then_some("done")
        });
        assert_eq!(v, "done");
        assert_eq!(calls.get(), 3);
    }

    #[test]
    #[should_panic(expected = "waiting for a condition that never holds")]
    fn panics_naming_what_it_waited_for() {
        wait_until(
            Duration::from_millis(50),
            "a condition that never holds",
            || false,
        );
    }

    #[test]
    fn checks_once_more_at_the_deadline() {
        let calls = Cell::new(0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_until(Duration::ZERO, "nothing", || {
                calls.set(calls.get() + 1);
                false
            })
        }));
        assert!(r.is_err());
        assert_eq!(calls.get(), 1, "a zero timeout still probes once");
    }
}
