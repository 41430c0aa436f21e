//! The link machine, input by input: each test names a situation, sets it
//! up in a few lines and asserts the exact actions.

use std::time::{Duration, Instant};

use bazaar_protocol::PeerId;
use bytes::Bytes;

use super::{Action, ConnId, Dialled, Dropped, Input, Link, LinkConfig, Timer, WRITE_BATCH};

const CONNECT: Duration = Duration::from_millis(500);

fn config() -> LinkConfig {
    LinkConfig {
        queue_len: 4,
        connect_timeout: CONNECT,
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
    }
}

/// The link of `local` to `peer`, and a time to start from.
fn link(local: u32, peer: u32) -> (Link, Instant) {
    (
        Link::new(PeerId(local), PeerId(peer), config()),
        Instant::now(),
    )
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn frame(n: u8) -> Bytes {
    Bytes::from(vec![n])
}

fn frames(ns: &[u8]) -> Vec<Bytes> {
    ns.iter().copied().map(frame).collect()
}

fn dial(conn: u64) -> Action {
    Action::Dial {
        conn: ConnId(conn),
        timeout: CONNECT,
    }
}

fn dialled(conn: u64, outcome: Dialled) -> Input {
    Input::Dialled {
        conn: ConnId(conn),
        outcome,
    }
}

fn adopt(conn: u64, answer: bool) -> Action {
    Action::Adopt {
        conn: ConnId(conn),
        answer,
    }
}

fn write(conn: u64, frames: usize) -> Action {
    Action::Write {
        conn: ConnId(conn),
        frames,
    }
}

/// Feeds `input` to `link` at `now` and drains what it asks for.
fn step(link: &mut Link, now: Instant, input: Input) -> Vec<Action> {
    link.handle(now, input);
    std::iter::from_fn(|| link.poll_action()).collect()
}

/// The frames of the write in progress.
fn in_flight(link: &Link) -> Vec<Bytes> {
    link.in_flight().cloned().collect()
}

fn written(conn: u64) -> Input {
    Input::Written { conn: ConnId(conn) }
}

fn lost(conn: u64) -> Input {
    Input::Lost { conn: ConnId(conn) }
}

fn close(conn: u64) -> Action {
    Action::Close { conn: ConnId(conn) }
}

fn dropped(frames: u64, reason: Dropped) -> Action {
    Action::Drop { frames, reason }
}

fn retry_at(at: Instant) -> Action {
    Action::SetTimer {
        timer: Timer::Retry,
        at,
    }
}

const RETRY: Input = Input::Timer(Timer::Retry);

/// A link of 1 to 2 whose dial `conn 1` is up and idle.
fn connected() -> (Link, Instant) {
    let (mut link, t0) = link(1, 2);
    step(&mut link, t0, Input::Frame(frame(0)));
    step(&mut link, t0, dialled(1, Dialled::Up));
    step(&mut link, t0, written(1));
    (link, t0)
}

// Dialling, writing, queueing.

#[test]
fn nothing_is_dialled_before_the_first_frame() {
    let (mut link, t0) = link(1, 2);
    assert_eq!(step(&mut link, t0, RETRY), []);
    assert_eq!(step(&mut link, t0, Input::Frame(frame(1))), [dial(1)]);
}

#[test]
fn an_answered_dial_is_adopted_and_writes_the_queue() {
    let (mut link, t0) = link(1, 2);
    step(&mut link, t0, Input::Frame(frame(1)));
    assert_eq!(step(&mut link, t0, Input::Frame(frame(2))), []);
    assert_eq!(
        step(&mut link, t0, dialled(1, Dialled::Up)),
        [adopt(1, false), write(1, 2)]
    );
    assert_eq!(in_flight(&link), frames(&[1, 2]));
    assert_eq!(link.connection(), Some(ConnId(1)));
}

#[test]
fn frames_queued_during_a_write_go_out_together_in_the_next() {
    let (mut link, t0) = connected();
    assert_eq!(step(&mut link, t0, Input::Frame(frame(1))), [write(1, 1)]);
    assert_eq!(step(&mut link, t0, Input::Frame(frame(2))), []);
    assert_eq!(step(&mut link, t0, Input::Frame(frame(3))), []);
    assert_eq!(step(&mut link, t0, written(1)), [write(1, 2)]);
    assert_eq!(in_flight(&link), frames(&[2, 3]));
    assert_eq!(step(&mut link, t0, written(1)), []);
    assert_eq!(in_flight(&link), frames(&[]));
}

#[test]
fn frames_handed_over_together_go_out_in_one_write() {
    let (mut link, t0) = connected();
    assert_eq!(
        step(&mut link, t0, Input::Frames(frames(&[1, 2, 3]))),
        [write(1, 3)]
    );
    assert_eq!(in_flight(&link), frames(&[1, 2, 3]));
    assert_eq!(step(&mut link, t0, Input::Frames(frames(&[4, 5]))), []);
    assert_eq!(step(&mut link, t0, written(1)), [write(1, 2)]);
    assert_eq!(in_flight(&link), frames(&[4, 5]));
}

#[test]
fn frames_handed_over_together_beyond_the_queue_are_dropped_and_counted_once() {
    let (mut link, t0) = link(1, 2);
    assert_eq!(
        step(&mut link, t0, Input::Frames(frames(&[0, 1, 2, 3, 4, 5]))),
        [dropped(2, Dropped::QueueFull), dial(1)]
    );
    assert_eq!(link.queued(), 4);
}

#[test]
fn a_long_queue_is_written_in_batches() {
    let config = LinkConfig {
        queue_len: 1000,
        ..config()
    };
    let (t0, batch) = (Instant::now(), WRITE_BATCH);
    let mut link = Link::new(PeerId(1), PeerId(2), config);
    for n in 0..batch + 1 {
        step(
            &mut link,
            t0,
            Input::Frame(Bytes::from(n.to_be_bytes().to_vec())),
        );
    }
    assert_eq!(
        step(&mut link, t0, dialled(1, Dialled::Up)),
        [adopt(1, false), write(1, batch)]
    );
    assert_eq!(step(&mut link, t0, written(1)), [write(1, 1)]);
    assert_eq!(
        in_flight(&link),
        [Bytes::from(batch.to_be_bytes().to_vec())],
        "the last frame goes last"
    );
}

#[test]
fn a_full_queue_drops_the_frame() {
    let (mut link, t0) = link(1, 2);
    for n in 0..4 {
        step(&mut link, t0, Input::Frame(frame(n)));
    }
    assert_eq!(
        step(&mut link, t0, Input::Frame(frame(4))),
        [dropped(1, Dropped::QueueFull)]
    );
    assert_eq!(link.queued(), 4);
}

// Refused and failed dials.

#[test]
fn a_refused_dial_keeps_the_queue_and_retries_after_backoff_min() {
    let (mut link, t0) = link(1, 2);
    step(&mut link, t0, Input::Frame(frame(1)));
    assert_eq!(
        step(&mut link, t0, dialled(1, Dialled::Refused)),
        [retry_at(t0 + ms(10))]
    );
    assert!(!link.in_outage());
    assert_eq!(step(&mut link, t0 + ms(10), RETRY), [dial(2)]);
    assert_eq!(
        step(&mut link, t0 + ms(10), dialled(2, Dialled::Refused)),
        [retry_at(t0 + ms(20))],
        "a refusal does not back off further"
    );
    assert_eq!(step(&mut link, t0 + ms(20), RETRY), [dial(3)]);
    assert_eq!(
        step(&mut link, t0 + ms(20), dialled(3, Dialled::Up)),
        [adopt(3, false), write(3, 1)]
    );
}

#[test]
fn a_failed_dial_drops_the_queue_and_reports_the_peer_unreachable() {
    let (mut link, t0) = link(1, 2);
    step(&mut link, t0, Input::Frame(frame(1)));
    step(&mut link, t0, Input::Frame(frame(2)));
    assert_eq!(
        step(&mut link, t0, dialled(1, Dialled::Failed)),
        [
            dropped(2, Dropped::Unreachable),
            Action::ReportUnreachable,
            retry_at(t0 + ms(10)),
        ]
    );
    assert!(link.in_outage());
    assert_eq!(link.queued(), 0);
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    let (mut link, t0) = link(1, 2);
    let mut now = t0;
    let mut waits = Vec::new();
    step(&mut link, now, Input::Frame(frame(0)));
    for conn in 1..=5 {
        let actions = step(&mut link, now, dialled(conn, Dialled::Failed));
        let Some(&Action::SetTimer { at, .. }) = actions.last() else {
            panic!("no retry timer in {actions:?}");
        };
        waits.push((at - now).as_millis());
        now = at;
        assert_eq!(step(&mut link, now, RETRY), []);
        assert_eq!(
            step(&mut link, now, Input::Frame(frame(0))),
            [dial(conn + 1)]
        );
    }
    assert_eq!(waits, [10, 20, 40, 40, 40]);
}

#[test]
fn the_backoff_starts_again_once_the_peer_is_reached() {
    let (mut link, t0) = link(1, 2);
    step(&mut link, t0, Input::Frame(frame(0)));
    step(&mut link, t0, dialled(1, Dialled::Failed));
    step(&mut link, t0, RETRY);
    step(&mut link, t0, Input::Frame(frame(0)));
    step(&mut link, t0, dialled(2, Dialled::Failed));
    step(&mut link, t0, RETRY);
    step(&mut link, t0, Input::Frame(frame(0)));
    step(&mut link, t0, dialled(3, Dialled::Up));
    assert_eq!(
        step(&mut link, t0, lost(3)),
        [dropped(1, Dropped::ConnectionLost), dial(4)]
    );
    assert_eq!(
        step(&mut link, t0, dialled(4, Dialled::Failed)),
        [Action::ReportUnreachable, retry_at(t0 + ms(10))]
    );
}

#[test]
fn an_outage_is_reported_once() {
    let (mut link, t0) = link(1, 2);
    step(&mut link, t0, Input::Frame(frame(1)));
    step(&mut link, t0, dialled(1, Dialled::Failed));
    step(&mut link, t0 + ms(10), RETRY);
    step(&mut link, t0 + ms(10), Input::Frame(frame(2)));
    assert_eq!(
        step(&mut link, t0 + ms(10), dialled(2, Dialled::Failed)),
        [dropped(1, Dropped::Unreachable), retry_at(t0 + ms(30))],
        "the same outage: no second report"
    );
    // Reached again, then lost for good: a new outage, a new report.
    step(&mut link, t0 + ms(30), RETRY);
    step(&mut link, t0 + ms(30), Input::Frame(frame(3)));
    step(&mut link, t0 + ms(30), dialled(3, Dialled::Up));
    step(&mut link, t0 + ms(30), written(3));
    assert!(!link.in_outage());
    assert_eq!(step(&mut link, t0 + ms(40), lost(3)), [dial(4)]);
    assert_eq!(
        step(&mut link, t0 + ms(40), dialled(4, Dialled::Failed)),
        [Action::ReportUnreachable, retry_at(t0 + ms(50))]
    );
}

// Frames sent during an outage: held for the next dial, delivered or dropped
// with it.

#[test]
fn frames_sent_during_an_outage_go_out_if_the_next_dial_reaches_the_peer() {
    let (mut link, t0) = link(1, 2);
    step(&mut link, t0, Input::Frame(frame(1)));
    step(&mut link, t0, dialled(1, Dialled::Failed));
    assert_eq!(
        step(&mut link, t0, Input::Frame(frame(2))),
        [],
        "waits for the timer"
    );
    assert_eq!(step(&mut link, t0, Input::Frame(frame(3))), []);
    assert_eq!(step(&mut link, t0 + ms(10), RETRY), [dial(2)]);
    assert_eq!(
        step(&mut link, t0 + ms(10), dialled(2, Dialled::Up)),
        [adopt(2, false), write(2, 2)]
    );
    assert_eq!(in_flight(&link), frames(&[2, 3]));
    assert!(!link.in_outage());
}

#[test]
fn frames_sent_during_an_outage_are_dropped_if_the_next_dial_fails() {
    let (mut link, t0) = link(1, 2);
    step(&mut link, t0, Input::Frame(frame(1)));
    step(&mut link, t0, dialled(1, Dialled::Failed));
    step(&mut link, t0, Input::Frame(frame(2)));
    step(&mut link, t0 + ms(10), RETRY);
    assert_eq!(
        step(&mut link, t0 + ms(10), dialled(2, Dialled::Failed)),
        [dropped(1, Dropped::Unreachable), retry_at(t0 + ms(30))]
    );
}

#[test]
fn a_dial_from_the_peer_ends_the_outage_and_the_wait() {
    let (mut link, t0) = link(1, 2);
    step(&mut link, t0, Input::Frame(frame(1)));
    step(&mut link, t0, dialled(1, Dialled::Failed));
    step(&mut link, t0, Input::Frame(frame(2)));
    assert_eq!(
        step(&mut link, t0, Input::Accepted),
        [
            Action::CancelTimer(Timer::Retry),
            adopt(2, true),
            write(2, 1),
        ]
    );
    assert!(!link.in_outage());
    assert_eq!(
        step(&mut link, t0 + ms(10), RETRY),
        [],
        "the timer was cancelled"
    );
}

// Losing a connection.

#[test]
fn a_lost_connection_is_probed_at_once_even_with_nothing_queued() {
    let (mut link, t0) = connected();
    assert_eq!(step(&mut link, t0, lost(1)), [dial(2)]);
    assert_eq!(
        step(&mut link, t0, dialled(2, Dialled::Failed)),
        [Action::ReportUnreachable, retry_at(t0 + ms(10))]
    );
    assert_eq!(
        step(&mut link, t0 + ms(10), RETRY),
        [],
        "lazy again: nothing queued"
    );
}

#[test]
fn frames_in_flight_are_lost_with_the_connection_and_the_queue_waits() {
    let (mut link, t0) = connected();
    step(&mut link, t0, Input::Frame(frame(1)));
    step(&mut link, t0, Input::Frame(frame(2)));
    assert_eq!(
        step(&mut link, t0, lost(1)),
        [dropped(1, Dropped::ConnectionLost), dial(2)]
    );
    assert_eq!(
        step(&mut link, t0, dialled(2, Dialled::Up)),
        [adopt(2, false), write(2, 1)]
    );
    assert_eq!(in_flight(&link), frames(&[2]), "frame 1 is not sent twice");
}

#[test]
fn reports_about_an_old_connection_are_ignored() {
    let (mut link, t0) = connected();
    step(&mut link, t0, lost(1));
    step(&mut link, t0, dialled(2, Dialled::Up));
    step(&mut link, t0, Input::Frame(frame(1)));
    assert_eq!(step(&mut link, t0, written(1)), []);
    assert_eq!(step(&mut link, t0, lost(1)), []);
    assert_eq!(step(&mut link, t0, dialled(1, Dialled::Failed)), []);
    assert_eq!(link.connection(), Some(ConnId(2)));
}

// A peer that dials for itself (quic): its dial is not offered to us.

fn peer_up() -> Input {
    Input::PeerUp { restarted: false }
}

fn restarted() -> Input {
    Input::PeerUp { restarted: true }
}

#[test]
fn the_peers_dial_replaces_a_dial_started_before_it_was_known_up() {
    let (mut link, t0) = link(1, 2);
    assert_eq!(step(&mut link, t0, Input::Frame(frame(1))), [dial(1)]);
    // Our dial's first packets went to a socket not bound yet; the peer,
    // now up, dialled us.
    assert_eq!(step(&mut link, t0, peer_up()), [dial(2)]);
    assert_eq!(
        step(&mut link, t0, dialled(1, Dialled::Up)),
        [],
        "the abandoned dial"
    );
    assert_eq!(
        step(&mut link, t0, dialled(2, Dialled::Up)),
        [adopt(2, false), write(2, 1)]
    );
    assert_eq!(in_flight(&link), frames(&[1]));
}

#[test]
fn a_dial_started_once_the_peer_was_known_up_is_not_abandoned() {
    let (mut link, t0) = link(1, 2);
    step(&mut link, t0, Input::Frame(frame(1)));
    step(&mut link, t0, peer_up());
    assert_eq!(step(&mut link, t0, peer_up()), []);
    assert_eq!(step(&mut link, t0, restarted()), []);
    assert_eq!(
        step(&mut link, t0, dialled(2, Dialled::Up)),
        [adopt(2, false), write(2, 1)]
    );
}

#[test]
fn two_peers_dials_abandon_each_other_at_most_once() {
    let (mut one, t0) = link(1, 2);
    let (mut two, _) = link(2, 1);
    assert_eq!(step(&mut one, t0, Input::Frame(frame(1))), [dial(1)]);
    assert_eq!(step(&mut two, t0, Input::Frame(frame(2))), [dial(1)]);
    // 2's dial reaches 1, which dials again; that dial reaches 2 while 2's
    // first is still under way, so 2 dials again too; 2's second dial
    // reaches 1, whose own second dial is left alone.
    assert_eq!(step(&mut one, t0, peer_up()), [dial(2)]);
    assert_eq!(step(&mut two, t0, peer_up()), [dial(2)]);
    assert_eq!(step(&mut one, t0, peer_up()), []);
    assert_eq!(
        step(&mut one, t0, dialled(2, Dialled::Up)),
        [adopt(2, false), write(2, 1)]
    );
    assert_eq!(
        step(&mut two, t0, dialled(2, Dialled::Up)),
        [adopt(2, false), write(2, 1)]
    );
}

#[test]
fn the_peers_dial_ends_the_outage_and_the_wait() {
    let (mut link, t0) = link(1, 2);
    step(&mut link, t0, Input::Frame(frame(1)));
    assert_eq!(
        step(&mut link, t0, dialled(1, Dialled::Failed)),
        [
            dropped(1, Dropped::Unreachable),
            Action::ReportUnreachable,
            retry_at(t0 + ms(10)),
        ]
    );
    step(&mut link, t0, Input::Frame(frame(2)));
    assert_eq!(
        step(&mut link, t0, peer_up()),
        [Action::CancelTimer(Timer::Retry), dial(2)]
    );
    assert!(!link.in_outage());
    assert_eq!(
        step(&mut link, t0 + ms(10), RETRY),
        [],
        "the timer was cancelled"
    );
    // A failure now is a new outage, and the backoff starts again.
    assert_eq!(
        step(&mut link, t0 + ms(10), dialled(2, Dialled::Failed)),
        [
            dropped(1, Dropped::Unreachable),
            Action::ReportUnreachable,
            retry_at(t0 + ms(20)),
        ]
    );
}

#[test]
fn the_peers_dial_with_nothing_queued_dials_nothing() {
    let (mut link, t0) = link(1, 2);
    assert_eq!(step(&mut link, t0, peer_up()), []);
    step(&mut link, t0, Input::Frame(frame(1)));
    step(&mut link, t0, dialled(1, Dialled::Failed));
    assert_eq!(
        step(&mut link, t0, peer_up()),
        [Action::CancelTimer(Timer::Retry)]
    );
    assert_eq!(
        step(&mut link, t0, Input::Frame(frame(2))),
        [dial(2)],
        "the next frame dials at once"
    );
}

#[test]
fn the_peers_dial_leaves_a_connection_we_hold_alone() {
    let (mut link, t0) = connected();
    assert_eq!(step(&mut link, t0, Input::Frame(frame(1))), [write(1, 1)]);
    assert_eq!(step(&mut link, t0, peer_up()), []);
    assert_eq!(link.connection(), Some(ConnId(1)));
    assert_eq!(in_flight(&link), frames(&[1]));
}

#[test]
fn a_restarted_peers_old_connection_is_closed_and_its_new_incarnation_dialled() {
    let (mut link, t0) = connected();
    assert_eq!(step(&mut link, t0, Input::Frame(frame(1))), [write(1, 1)]);
    step(&mut link, t0, Input::Frame(frame(2)));
    assert_eq!(
        step(&mut link, t0, restarted()),
        [close(1), dropped(1, Dropped::ConnectionLost), dial(2)]
    );
    assert_eq!(link.connection(), None);
    assert_eq!(step(&mut link, t0, Input::Frame(frame(3))), []);
    assert_eq!(step(&mut link, t0, written(1)), [], "the old connection");
    assert_eq!(
        step(&mut link, t0, dialled(2, Dialled::Up)),
        [adopt(2, false), write(2, 2)]
    );
    assert_eq!(in_flight(&link), frames(&[2, 3]));
}

#[test]
fn a_restarted_peer_is_dialled_even_with_nothing_queued() {
    let (mut link, t0) = connected();
    assert_eq!(step(&mut link, t0, restarted()), [close(1), dial(2)]);
}

// Arbitration.

#[test]
fn simultaneous_dials_settle_on_the_lower_ids_connection() {
    let (mut one, t0) = link(1, 2);
    let (mut two, _) = link(2, 1);
    assert_eq!(step(&mut one, t0, Input::Frame(frame(1))), [dial(1)]);
    assert_eq!(step(&mut two, t0, Input::Frame(frame(2))), [dial(1)]);
    // Each dial reaches the other side while both are dialling.
    assert_eq!(step(&mut one, t0, Input::Accepted), [Action::Refuse]);
    assert_eq!(
        step(&mut two, t0, Input::Accepted),
        [adopt(2, true), write(2, 1)]
    );
    // 2 answered 1's dial and 1 refused 2's.
    assert_eq!(
        step(&mut one, t0, dialled(1, Dialled::Up)),
        [adopt(1, false), write(1, 1)]
    );
    assert_eq!(step(&mut two, t0, dialled(1, Dialled::Refused)), []);
    // One wire: 1's dial, which 2 knows as its accepted conn 2.
    assert_eq!(one.connection(), Some(ConnId(1)));
    assert_eq!(two.connection(), Some(ConnId(2)));
}

#[test]
fn a_higher_dial_arriving_after_the_lower_one_was_answered_is_refused() {
    let (mut one, t0) = link(1, 2);
    let (mut two, _) = link(2, 1);
    step(&mut one, t0, Input::Frame(frame(1)));
    step(&mut two, t0, Input::Frame(frame(2)));
    step(&mut two, t0, Input::Accepted);
    step(&mut one, t0, dialled(1, Dialled::Up));
    // 2's dial reaches 1 only now.
    assert_eq!(step(&mut one, t0, Input::Accepted), [Action::Refuse]);
    assert_eq!(step(&mut two, t0, dialled(1, Dialled::Refused)), []);
    assert_eq!(one.connection(), Some(ConnId(1)));
    assert_eq!(two.connection(), Some(ConnId(2)));
}

#[test]
fn a_refusal_that_overtakes_the_lower_dial_only_delays_the_higher_id() {
    let (mut one, t0) = link(1, 2);
    let (mut two, _) = link(2, 1);
    step(&mut one, t0, Input::Frame(frame(1)));
    step(&mut two, t0, Input::Frame(frame(2)));
    assert_eq!(step(&mut one, t0, Input::Accepted), [Action::Refuse]);
    // 2 hears the refusal before 1's dial reaches it: retry later, no outage.
    assert_eq!(
        step(&mut two, t0, dialled(1, Dialled::Refused)),
        [retry_at(t0 + ms(10))]
    );
    assert_eq!(
        step(&mut two, t0, Input::Accepted),
        [
            Action::CancelTimer(Timer::Retry),
            adopt(2, true),
            write(2, 1),
        ]
    );
    assert_eq!(
        step(&mut one, t0, dialled(1, Dialled::Up)),
        [adopt(1, false), write(1, 1)]
    );
}

#[test]
fn a_higher_id_accepts_a_dial_and_replaces_its_own_connection() {
    let (mut two, t0) = link(2, 1);
    step(&mut two, t0, Input::Frame(frame(1)));
    step(&mut two, t0, dialled(1, Dialled::Up));
    assert_eq!(
        step(&mut two, t0, Input::Accepted),
        [
            close(1),
            dropped(1, Dropped::ConnectionLost),
            adopt(2, true),
        ]
    );
}

#[test]
fn a_lower_id_accepts_a_dial_replacing_a_connection_it_did_not_dial() {
    let (mut one, t0) = link(1, 2);
    step(&mut one, t0, Input::Accepted);
    assert_eq!(
        step(&mut one, t0, Input::Accepted),
        [close(1), adopt(2, true)]
    );
}

#[test]
fn a_half_open_connection_is_replaced_when_the_peer_dials_again() {
    let (mut one, t0) = connected();
    step(&mut one, t0, Input::Frame(frame(1)));
    // 2's host vanished without closing; the new 2 dials, is refused once
    // as if it were racing, and dials again: the old connection is dead to
    // it.
    assert_eq!(step(&mut one, t0, Input::Accepted), [Action::Refuse]);
    step(&mut one, t0, Input::Frame(frame(2)));
    assert_eq!(
        step(&mut one, t0 + ms(10), Input::Accepted),
        [
            close(1),
            dropped(1, Dropped::ConnectionLost),
            adopt(2, true),
            write(2, 1),
        ]
    );
    assert_eq!(one.connection(), Some(ConnId(2)));
    assert_eq!(in_flight(&one), frames(&[2]));
}

#[test]
fn a_dialler_adopts_an_answered_dial_over_the_connection_it_holds() {
    let (mut two, t0) = link(2, 1);
    step(&mut two, t0, Input::Frame(frame(1)));
    step(&mut two, t0, Input::Accepted);
    assert_eq!(
        step(&mut two, t0, dialled(1, Dialled::Up)),
        [
            close(2),
            dropped(1, Dropped::ConnectionLost),
            adopt(1, false)
        ]
    );
}
