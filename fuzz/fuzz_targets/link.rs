//! The transport's link machine, driven as tcp and quic drive it through an
//! arbitrary story (frames, dials that end up, refused or failed, the peer's
//! dials, writes, losses, timers, stale reports) at non-decreasing times,
//! keeps the policy its module docs state.
//!
//! The driver here is honest: it reports only what could happen to the
//! actions the link asked for (one outcome per dial, `Written` after a
//! `Write`, a timer only once set), plus reports about connections that
//! are no longer current, which the link must ignore. Frames carry a
//! sequence number, so that order, duplicates and losses can be checked.
//!
//! The story is written in [`Event`], a mirror of the link's `Input` that
//! the driver maps to a real input when it makes sense in the state it is
//! in; a new input of the link needs one more variant here and one arm in
//! [`Driver::input`].
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use bazaar_protocol::PeerId;
use bazaar_transport::link::{
    Action, ConnId, Dialled, Dropped, Input, Link, LinkConfig, Timer, WRITE_BATCH,
};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

/// A whole run: who the two peers are, the link's config, the story.
#[derive(Debug)]
struct Case {
    /// Our id is below the peer's (we win arbitration).
    lower: bool,
    config: LinkConfig,
    steps: Vec<Step>,
}

impl<'a> Arbitrary<'a> for Case {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let lower = u.arbitrary()?;
        // Small queues most of the time, and sometimes one longer than a
        // write batch, so that batching and overflow both happen.
        let queue_len = if u.ratio(1, 8)? {
            u.int_in_range(WRITE_BATCH..=2 * WRITE_BATCH + 3)?
        } else {
            u.int_in_range(0..=9)?
        };
        let config = LinkConfig {
            queue_len,
            connect_timeout: Duration::from_millis(u.int_in_range(0..=5_000)?),
            backoff_min: Duration::from_millis(u.int_in_range(0..=300)?),
            backoff_max: Duration::from_millis(u.int_in_range(0..=3_000)?),
        };
        let steps = u.arbitrary_iter()?.collect::<arbitrary::Result<_>>()?;
        Ok(Self {
            lower,
            config,
            steps,
        })
    }
}

/// One thing that happens, after some time passes.
#[derive(Debug, Arbitrary)]
struct Step {
    /// Milliseconds since the last step.
    after_ms: u8,
    event: Event,
}

/// What happens, as the driver sees it; mapped to a link [`Input`].
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Event {
    /// `send` has a frame.
    Frame,
    /// `send_many` has frames: a few, and one time in sixteen up to more
    /// than two write batches.
    Frames(u16),
    /// The dial in progress ends.
    DialEnds(Outcome),
    /// The peer dials us with a good hello.
    Accepted,
    /// The write in progress is on the wire.
    WriteDone,
    /// The connection in use breaks.
    ConnLost,
    /// The retry timer fires (time moves on to it).
    RetryFires,
    /// A report about a connection (or dial) that is not the current one,
    /// or a retry timer that fires though none is set.
    Stale(Stale, u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
enum Outcome {
    Up,
    Refused,
    Failed,
}

impl From<Outcome> for Dialled {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Up => Self::Up,
            Outcome::Refused => Self::Refused,
            Outcome::Failed => Self::Failed,
        }
    }
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Stale {
    Dialled(Outcome),
    Written,
    Lost,
    Timer,
}

/// Most frames one `Frames` event hands over: a few most of the time, so
/// that stories stay quick to run, or more than two write batches.
const FEW_FRAMES: u16 = 8;
const MAX_FRAMES: u16 = 2 * WRITE_BATCH as u16 + 8;

/// The write the link asked for on the current connection.
#[derive(Debug)]
struct Write {
    conn: ConnId,
    seqs: Vec<u64>,
}

/// The driver: performs the link's actions and keeps what it needs to
/// report honestly and to check the link.
struct Driver {
    link: Link,
    local: PeerId,
    peer: PeerId,
    config: LinkConfig,
    now: Instant,
    /// The dial in progress.
    dial: Option<ConnId>,
    /// The connection in use, and whether we dialled it.
    current: Option<(ConnId, bool)>,
    /// We refused a dial of the peer while holding `current`.
    refused_on_current: bool,
    write: Option<Write>,
    /// When the retry timer fires, if set.
    timer: Option<Instant>,
    /// Every connection (or dial) the link named, oldest first.
    conns: Vec<ConnId>,
    /// The peer was reported unreachable and not reached since.
    outage: bool,
    /// The last wait after a failed dial since the peer was last reached.
    last_backoff: Option<Duration>,
    /// Frames handed to the link, numbered from 0.
    sent: u64,
    /// Frames reported written.
    written: u64,
    /// Frames the link dropped, for any reason.
    dropped: u64,
    /// The last frame handed out in a write: each is handed out once, in
    /// order.
    last_out: Option<u64>,
}

/// What was true before the input, for the checks after it.
#[derive(Debug)]
struct Before {
    queued: usize,
    dial: Option<ConnId>,
    current: Option<(ConnId, bool)>,
    refused_on_current: bool,
    timer: Option<Instant>,
    outage: bool,
    write_len: usize,
}

impl Driver {
    fn new(case: &Case) -> Self {
        let (local, peer) = if case.lower {
            (PeerId(1), PeerId(2))
        } else {
            (PeerId(2), PeerId(1))
        };
        Self {
            link: Link::new(local, peer, case.config.clone()),
            local,
            peer,
            config: case.config.clone(),
            now: Instant::now(),
            dial: None,
            current: None,
            refused_on_current: false,
            write: None,
            timer: None,
            conns: Vec::new(),
            outage: false,
            last_backoff: None,
            sent: 0,
            written: 0,
            dropped: 0,
            last_out: None,
        }
    }

    /// The next frames, numbered on from the last.
    fn frames(&mut self, n: u64) -> Vec<Bytes> {
        let frames = (self.sent..self.sent + n)
            .map(|seq| Bytes::copy_from_slice(&seq.to_be_bytes()))
            .collect();
        self.sent += n;
        frames
    }

    /// The link's input for `event` now, if it can happen now.
    fn input(&mut self, event: Event) -> Option<Input> {
        Some(match event {
            Event::Frame => Input::Frame(self.frames(1).remove(0)),
            Event::Frames(n) => {
                let bound = if n >> 12 == 0xf {
                    MAX_FRAMES
                } else {
                    FEW_FRAMES
                };
                Input::Frames(self.frames(u64::from(n % (bound + 1))))
            }
            Event::DialEnds(outcome) => Input::Dialled {
                conn: self.dial?,
                outcome: outcome.into(),
            },
            Event::Accepted => Input::Accepted,
            Event::WriteDone => Input::Written {
                conn: self.write.as_ref()?.conn,
            },
            Event::ConnLost => Input::Lost {
                conn: self.current?.0,
            },
            Event::RetryFires => {
                self.now = self.now.max(self.timer?);
                Input::Timer(Timer::Retry)
            }
            Event::Stale(stale, pick) => {
                let old: Vec<ConnId> = self
                    .conns
                    .iter()
                    .copied()
                    .filter(|&c| Some(c) != self.dial && Some(c) != self.current.map(|c| c.0))
                    .collect();
                // A connection never named at all is as stale as an old one.
                let conn = old
                    .get(usize::from(pick) % (old.len() + 1))
                    .copied()
                    .unwrap_or(ConnId(u64::MAX - u64::from(pick)));
                match stale {
                    Stale::Dialled(outcome) => Input::Dialled {
                        conn,
                        outcome: outcome.into(),
                    },
                    Stale::Written => Input::Written { conn },
                    Stale::Lost => Input::Lost { conn },
                    Stale::Timer if self.timer.is_none() => Input::Timer(Timer::Retry),
                    Stale::Timer => return None,
                }
            }
        })
    }

    fn before(&self) -> Before {
        Before {
            queued: self.link.queued(),
            dial: self.dial,
            current: self.current,
            refused_on_current: self.refused_on_current,
            timer: self.timer,
            outage: self.outage,
            write_len: self.write.as_ref().map_or(0, |w| w.seqs.len()),
        }
    }

    /// Feeds one step to the link, drains and performs its actions, and
    /// checks them.
    fn step(&mut self, step: &Step) {
        self.now += Duration::from_millis(step.after_ms.into());
        let Some(input) = self.input(step.event) else {
            return;
        };
        let stale = matches!(step.event, Event::Stale(..));
        let state = stale.then(|| format!("{:?}", self.link));
        let before = self.before();
        // The driver's own view of what it reports.
        match &input {
            Input::Dialled { conn, .. } if Some(*conn) == self.dial => self.dial = None,
            Input::Written { conn } if self.current.map(|c| c.0) == Some(*conn) => {
                let write = self.write.take().expect("written without a write");
                self.written += write.seqs.len() as u64;
            }
            Input::Lost { conn } if self.current.map(|c| c.0) == Some(*conn) => {
                self.current = None;
            }
            Input::Timer(_) => self.timer = None,
            _ => {}
        }
        self.link.handle(self.now, input.clone());
        let mut actions = Vec::new();
        while let Some(action) = self.link.poll_action() {
            self.perform(&input, &before, &action);
            actions.push(action);
        }
        if let Some(state) = state {
            assert_eq!(actions, [], "a stale {input:?} did something");
            assert_eq!(
                format!("{:?}", self.link),
                state,
                "a stale {input:?} changed the link"
            );
        }
        self.check_step(&input, &before, &actions);
        self.check_state();
    }

    /// Performs one action, checking it against the driver's view.
    fn perform(&mut self, input: &Input, before: &Before, action: &Action) {
        match *action {
            Action::Dial { conn, timeout } => {
                assert_eq!(
                    self.dial, None,
                    "a second dial while {:?} is in flight",
                    self.dial
                );
                assert_eq!(self.current, None, "a dial while connected");
                assert_eq!(timeout, self.config.connect_timeout);
                assert!(
                    matches!(
                        input,
                        Input::Frame(_) | Input::Frames(_) | Input::Lost { .. } | Input::Timer(_)
                    ),
                    "a dial on {input:?}"
                );
                if !matches!(input, Input::Lost { .. }) {
                    assert!(self.link.queued() > 0, "a dial with nothing to send");
                }
                self.fresh(conn);
                self.dial = Some(conn);
            }
            Action::Adopt { conn, answer } => {
                assert_eq!(self.current, None, "adopted over a connection not closed");
                if answer {
                    assert_eq!(*input, Input::Accepted, "answered a dial never offered");
                    self.fresh(conn);
                } else {
                    assert_eq!(
                        *input,
                        Input::Dialled {
                            conn,
                            outcome: Dialled::Up
                        }
                    );
                    assert_eq!(before.dial, Some(conn));
                }
                self.current = Some((conn, !answer));
                self.refused_on_current = false;
                self.outage = false;
                self.last_backoff = None;
            }
            Action::Refuse => {
                assert_eq!(*input, Input::Accepted, "refused a dial never offered");
                assert!(self.local < self.peer, "a higher id refused a dial");
                if before.dial.is_none() {
                    self.refused_on_current = true;
                }
            }
            Action::Close { conn } => {
                assert_eq!(
                    self.current.map(|c| c.0),
                    Some(conn),
                    "closed {conn}, not current"
                );
                self.current = None;
                // Its write, if any, is dropped next.
            }
            Action::Write { conn, frames } => {
                assert_eq!(
                    self.current.map(|c| c.0),
                    Some(conn),
                    "a write on {conn}, not current"
                );
                assert!(self.write.is_none(), "a second write in progress on {conn}");
                assert!(
                    (1..=WRITE_BATCH).contains(&frames),
                    "a write of {frames} frames"
                );
                let seqs: Vec<u64> = self
                    .link
                    .in_flight()
                    .map(|frame| u64::from_be_bytes(frame[..].try_into().unwrap()))
                    .collect();
                assert_eq!(seqs.len(), frames, "in_flight is not the write");
                for &seq in &seqs {
                    assert!(
                        self.last_out.is_none_or(|last| seq > last),
                        "frame {seq} handed out after {:?}: out of order or twice",
                        self.last_out
                    );
                    assert!(seq < self.sent, "frame {seq} was never sent");
                    self.last_out = Some(seq);
                }
                self.write = Some(Write { conn, seqs });
            }
            Action::ReportUnreachable => {
                assert!(!self.outage, "the same outage reported twice");
                assert!(
                    matches!(
                        input,
                        Input::Dialled {
                            outcome: Dialled::Failed,
                            ..
                        }
                    ),
                    "unreachable on {input:?}"
                );
                assert_eq!(self.current, None, "unreachable while connected");
                self.outage = true;
            }
            Action::Drop { frames, reason } => {
                assert!(frames > 0, "a drop of no frames");
                self.dropped += frames;
                match reason {
                    Dropped::QueueFull => {
                        let n = match input {
                            Input::Frame(_) => 1,
                            Input::Frames(frames) => frames.len(),
                            _ => panic!("queue full on {input:?}"),
                        };
                        let room = self.config.queue_len.max(1) - before.queued;
                        assert_eq!(frames, n.saturating_sub(room) as u64, "queue-full count");
                    }
                    Dropped::Unreachable => {
                        assert!(matches!(
                            input,
                            Input::Dialled {
                                outcome: Dialled::Failed,
                                ..
                            }
                        ));
                        assert_eq!(before.current, None);
                        assert_eq!(frames, before.queued as u64, "not the whole queue dropped");
                    }
                    Dropped::ConnectionLost => {
                        let write = self.write.take().expect("lost frames with no write");
                        assert_eq!(frames, write.seqs.len() as u64, "not the write dropped");
                        assert!(
                            self.current.is_none_or(|c| c.0 != write.conn),
                            "dropped the write of a connection still in use"
                        );
                    }
                }
            }
            Action::SetTimer {
                timer: Timer::Retry,
                at,
            } => {
                assert_eq!(before.current, None, "a retry while connected");
                assert!(at >= self.now, "a timer in the past");
                let wait = at - self.now;
                match input {
                    Input::Dialled {
                        outcome: Dialled::Refused,
                        ..
                    } => assert_eq!(wait, self.config.backoff_min, "retry after a refusal"),
                    Input::Dialled {
                        outcome: Dialled::Failed,
                        ..
                    } => {
                        let expected = match self.last_backoff {
                            None => self.config.backoff_min,
                            Some(last) => (last * 2)
                                .min(self.config.backoff_max)
                                .max(Duration::from_millis(1)),
                        };
                        assert_eq!(wait, expected, "backoff after {:?}", self.last_backoff);
                        self.last_backoff = Some(wait);
                    }
                    _ => panic!("a retry timer on {input:?}"),
                }
                self.timer = Some(at);
            }
            Action::CancelTimer(Timer::Retry) => {
                assert!(self.timer.is_some(), "cancelled a timer not set");
                self.timer = None;
            }
        }
    }

    /// A connection id the link names for the first time is new.
    fn fresh(&mut self, conn: ConnId) {
        assert!(
            self.conns.last().is_none_or(|&last| conn > last),
            "{conn} named again or out of order"
        );
        self.conns.push(conn);
    }

    /// What one input must have led to.
    fn check_step(&self, input: &Input, before: &Before, actions: &[Action]) {
        let has = |f: &dyn Fn(&Action) -> bool| actions.iter().any(f);
        let dials = actions
            .iter()
            .filter(|a| matches!(a, Action::Dial { .. }))
            .count();
        assert!(dials <= 1, "{dials} dials at once");
        match *input {
            Input::Frame(_) | Input::Frames(_) => {
                // Lazy dial: a frame queued with nothing under way dials.
                let idle =
                    before.current.is_none() && before.dial.is_none() && before.timer.is_none();
                if idle && self.link.queued() > 0 {
                    assert_eq!(dials, 1, "a frame with nothing under way did not dial");
                }
            }
            Input::Accepted => {
                let answers: Vec<_> = actions
                    .iter()
                    .filter(|a| matches!(a, Action::Refuse | Action::Adopt { answer: true, .. }))
                    .collect();
                assert_eq!(
                    answers.len(),
                    1,
                    "an offered connection answered {answers:?}"
                );
                // Before the answer, only what replacing a connection takes.
                for action in actions
                    .iter()
                    .take_while(|a| !matches!(a, Action::Refuse | Action::Adopt { .. }))
                {
                    assert!(
                        matches!(
                            action,
                            Action::Close { .. }
                                | Action::Drop {
                                    reason: Dropped::ConnectionLost,
                                    ..
                                }
                                | Action::CancelTimer(_)
                        ),
                        "{action:?} before the answer to a dial"
                    );
                }
                let dialled_current = matches!(before.current, Some((_, true)));
                let refuse = self.local < self.peer
                    && (before.dial.is_some() || (dialled_current && !before.refused_on_current));
                assert_eq!(
                    *answers[0] == Action::Refuse,
                    refuse,
                    "arbitration: {before:?}"
                );
                if refuse {
                    assert_eq!(actions, [Action::Refuse], "a refusal did more");
                }
            }
            Input::Dialled { conn, outcome } if before.dial == Some(conn) => match outcome {
                Dialled::Up => assert!(has(&|a| *a
                    == Action::Adopt {
                        conn,
                        answer: false
                    })),
                _ if before.current.is_some() => {
                    assert_eq!(
                        actions,
                        [],
                        "a lost race to a held connection did something"
                    )
                }
                Dialled::Refused => assert!(
                    matches!(actions, [Action::SetTimer { .. }]),
                    "refused: {actions:?}"
                ),
                Dialled::Failed => {
                    assert!(self.link.in_outage());
                    assert_eq!(
                        has(&|a| *a == Action::ReportUnreachable),
                        !before.outage,
                        "the first failure of an outage, and only it, is reported"
                    );
                    assert!(matches!(actions.last(), Some(Action::SetTimer { .. })));
                    assert_eq!(self.link.queued(), 0);
                }
            },
            Input::Written { conn } if before.current.map(|c| c.0) == Some(conn) => {
                // The queue moves on: the next write if anything waits.
                assert_eq!(dials, 0);
            }
            Input::Lost { conn } if before.current.map(|c| c.0) == Some(conn) => {
                // Probe at once, queue or no queue, unless a dial is under way.
                assert_eq!(
                    dials,
                    usize::from(before.dial.is_none()),
                    "no probe after a loss"
                );
                let lost = actions.iter().find_map(|a| match a {
                    Action::Drop {
                        frames,
                        reason: Dropped::ConnectionLost,
                    } => Some(*frames as usize),
                    _ => None,
                });
                assert_eq!(lost.unwrap_or(0), before.write_len);
            }
            Input::Timer(_) if before.timer.is_some() => {
                if before.current.is_none() && before.dial.is_none() && before.queued > 0 {
                    assert_eq!(dials, 1, "the retry timer fired, frames wait, no dial");
                } else {
                    assert_eq!(dials, 0);
                }
            }
            _ => {}
        }
    }

    /// What holds after every step.
    fn check_state(&self) {
        let link = &self.link;
        assert_eq!(link.connection(), self.current.map(|c| c.0));
        assert_eq!(link.in_outage(), self.outage);
        assert!(
            link.queued() <= self.config.queue_len.max(1),
            "the queue overflowed"
        );
        assert_eq!(
            link.in_flight().len(),
            self.write.as_ref().map_or(0, |w| w.seqs.len()),
            "in_flight is not the write in progress"
        );
        // The link waits on exactly one thing when it holds frames and no
        // connection: its dial or its retry timer.
        if self.current.is_none() && link.queued() > 0 {
            assert!(
                self.dial.is_some() != self.timer.is_some(),
                "frames wait for nothing: dial {:?}, timer {:?}",
                self.dial,
                self.timer
            );
        }
        // With a connection idle, nothing waits.
        if self.current.is_some() && self.write.is_none() {
            assert_eq!(link.queued(), 0, "frames wait on an idle connection");
        }
        // Every frame is written, dropped, or still held.
        let held = (link.queued() + link.in_flight().len()) as u64;
        assert_eq!(
            self.sent,
            self.written + self.dropped + held,
            "frames lost without a count"
        );
    }
}

fuzz_target!(|case: Case| {
    let mut driver = Driver::new(&case);
    for step in &case.steps {
        driver.step(step);
    }
});
