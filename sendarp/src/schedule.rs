//! Repeat and interval logic, separate from the socket and the clock.
//!
//! heartbeat's send_arp sends, per repetition, a request, sleeps half the
//! interval, sends a reply, and sleeps the other half unless that was the
//! last reply: total duration (2r-1)·i/2. Generalised: the frames of all
//! repetitions go out in order with interval/(frames per repetition)
//! between consecutive frames and no pause after the last one.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::link::FrameSink;
use crate::Error;

/// Something that can wait. The real one sleeps the thread; tests advance
/// a fake clock.
pub trait Sleeper {
    /// Wait `d`. Returning false cancels the rest of the announcement
    /// (nothing more is sent).
    fn sleep(&mut self, d: Duration) -> bool;
}

/// `std::thread::sleep`, never cancelled.
#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadSleeper;

impl Sleeper for ThreadSleeper {
    fn sleep(&mut self, d: Duration) -> bool {
        std::thread::sleep(d);
        true
    }
}

/// Sleeps until the time is up or the other end of the channel speaks or
/// goes away, which cancels the announcement: a node that gives the
/// address up again mid-announcement stops claiming it.
#[derive(Debug)]
pub struct CancellableSleeper(pub Receiver<()>);

impl Sleeper for CancellableSleeper {
    fn sleep(&mut self, d: Duration) -> bool {
        matches!(self.0.recv_timeout(d), Err(RecvTimeoutError::Timeout))
    }
}

/// One step of an announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send frame number `n` of the repetition's frames.
    Send(usize),
    Pause(Duration),
}

/// The steps for `repeat` repetitions of `frames` frames spaced over
/// `interval`. Zero pauses are left out; zero repetitions or frames give
/// nothing to do.
pub fn steps(frames: usize, repeat: u32, interval: Duration) -> Vec<Step> {
    let mut out = Vec::new();
    if frames == 0 {
        return out;
    }
    let gap = interval / frames as u32;
    let total = frames * repeat as usize;
    for k in 0..total {
        if k > 0 && !gap.is_zero() {
            out.push(Step::Pause(gap));
        }
        out.push(Step::Send(k % frames));
    }
    out
}

/// Carry out the steps. Stops at the first send error, as the original
/// does, and quietly when the sleeper cancels.
pub fn run(
    frames: &[Vec<u8>],
    repeat: u32,
    interval: Duration,
    sink: &mut dyn FrameSink,
    sleeper: &mut dyn Sleeper,
) -> Result<(), Error> {
    for step in steps(frames.len(), repeat, interval) {
        match step {
            Step::Send(n) => sink.send(&frames[n])?,
            Step::Pause(d) => {
                if !sleeper.sleep(d) {
                    break;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// A fake clock shared by the fake sleeper and the fake socket, so the
    /// socket records when each frame left.
    #[derive(Clone, Default)]
    struct Clock(Rc<Cell<Duration>>);

    struct FakeSleeper(Clock);
    impl Sleeper for FakeSleeper {
        fn sleep(&mut self, d: Duration) -> bool {
            self.0 .0.set(self.0 .0.get() + d);
            true
        }
    }

    struct FakeSink {
        clock: Clock,
        sent: Vec<(Duration, Vec<u8>)>,
        fail_at: Option<usize>,
    }
    impl FrameSink for FakeSink {
        fn send(&mut self, frame: &[u8]) -> Result<(), Error> {
            if self.fail_at == Some(self.sent.len()) {
                return Err(Error::Send {
                    ifname: "fake0".into(),
                    source: std::io::Error::from_raw_os_error(libc::ENETDOWN),
                });
            }
            self.sent.push((self.clock.0.get(), frame.to_vec()));
            Ok(())
        }
    }

    fn go(
        frames: &[Vec<u8>],
        repeat: u32,
        interval_ms: u64,
        fail_at: Option<usize>,
    ) -> (Result<(), Error>, FakeSink, Duration) {
        let clock = Clock::default();
        let mut sink = FakeSink {
            clock: clock.clone(),
            sent: vec![],
            fail_at,
        };
        let mut sleeper = FakeSleeper(clock.clone());
        let r = run(
            frames,
            repeat,
            Duration::from_millis(interval_ms),
            &mut sink,
            &mut sleeper,
        );
        let end = clock.0.get();
        (r, sink, end)
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn heartbeat_ipaddr_timing() {
        // send_arp -i 500 -r 10: pairs 500 ms apart, request and reply
        // 250 ms apart, nothing after the last reply.
        let frames = vec![b"req".to_vec(), b"rep".to_vec()];
        let (r, sink, end) = go(&frames, 10, 500, None);
        r.unwrap();
        assert_eq!(sink.sent.len(), 20);
        for (k, (t, f)) in sink.sent.iter().enumerate() {
            assert_eq!(*t, ms(250 * k as u64));
            assert_eq!(f, &frames[k % 2]);
        }
        assert_eq!(end, ms(250 * 19));
    }

    #[test]
    fn defaults_one_pair_one_second() {
        let frames = vec![b"req".to_vec(), b"rep".to_vec()];
        let (_, sink, end) = go(&frames, 1, 1000, None);
        let times: Vec<_> = sink.sent.iter().map(|s| s.0).collect();
        assert_eq!(times, vec![ms(0), ms(500)]);
        assert_eq!(end, ms(500));
    }

    #[test]
    fn ipv6_one_frame_per_repetition_full_interval_apart() {
        let frames = vec![b"na".to_vec()];
        let (_, sink, end) = go(&frames, 3, 200, None);
        let times: Vec<_> = sink.sent.iter().map(|s| s.0).collect();
        assert_eq!(times, vec![ms(0), ms(200), ms(400)]);
        assert_eq!(end, ms(400));
    }

    #[test]
    fn zero_repeat_sends_nothing() {
        let frames = vec![b"req".to_vec(), b"rep".to_vec()];
        let (r, sink, end) = go(&frames, 0, 1000, None);
        r.unwrap();
        assert!(sink.sent.is_empty());
        assert_eq!(end, Duration::ZERO);
    }

    #[test]
    fn zero_interval_has_no_pauses() {
        assert_eq!(
            steps(2, 2, Duration::ZERO),
            vec![Step::Send(0), Step::Send(1), Step::Send(0), Step::Send(1)]
        );
    }

    #[test]
    fn send_error_stops_the_run() {
        let frames = vec![b"req".to_vec(), b"rep".to_vec()];
        let (r, sink, end) = go(&frames, 5, 100, Some(3));
        assert!(matches!(r, Err(Error::Send { .. })));
        assert_eq!(sink.sent.len(), 3);
        // No pause after the failure.
        assert_eq!(end, ms(150));
    }

    #[test]
    fn cancelling_stops_sending() {
        let (tx, rx) = std::sync::mpsc::channel();
        let clock = Clock::default();
        let mut sink = FakeSink {
            clock,
            sent: vec![],
            fail_at: None,
        };
        let frames = vec![b"req".to_vec(), b"rep".to_vec()];
        tx.send(()).unwrap();
        run(
            &frames,
            10,
            Duration::from_secs(1),
            &mut sink,
            &mut CancellableSleeper(rx),
        )
        .unwrap();
        // The first frame goes out at once; the first pause is cancelled.
        assert_eq!(sink.sent.len(), 1);

        let (tx, rx) = std::sync::mpsc::channel::<()>();
        drop(tx);
        let mut sink = FakeSink {
            clock: Clock::default(),
            sent: vec![],
            fail_at: None,
        };
        run(
            &frames,
            10,
            Duration::from_secs(1),
            &mut sink,
            &mut CancellableSleeper(rx),
        )
        .unwrap();
        assert_eq!(sink.sent.len(), 1);
    }

    #[test]
    fn cancellable_sleeper_waits_when_nobody_cancels() {
        let (_tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::time::Instant::now();
        assert!(CancellableSleeper(rx).sleep(Duration::from_millis(20)));
        assert!(t.elapsed() >= Duration::from_millis(20));
    }
}
