//! Exact actions for each situation of the election, peers 1..=5.
//!
//! Epochs are dealt by rank: in round `r` peer `p` of five claims `5r + p - 1`,
//! so peer 5's first claim is 9, peer 4's second is 13.

use std::time::Duration;

use proptest::prelude::*;

use super::*;

const ALIVE_TIMEOUT: Duration = Duration::from_millis(150);
const COORDINATOR_TIMEOUT: Duration = Duration::from_millis(400);

fn peer(me: u32) -> Bully<u32> {
    Bully::new(me, 1..=5, Config::default())
}

fn from(from: u32, msg: Message) -> Input<u32> {
    Input::Message { from, msg }
}

fn send(to: u32, msg: Message) -> Action<u32> {
    Action::Send { to, msg }
}

fn send_all(to: impl IntoIterator<Item = u32>, msg: Message) -> Vec<Action<u32>> {
    to.into_iter().map(|to| send(to, msg)).collect()
}

const fn election(epoch: u64) -> Message {
    Message::Election {
        epoch: Epoch(epoch),
    }
}

const fn alive(epoch: u64) -> Message {
    Message::Alive {
        epoch: Epoch(epoch),
    }
}

const fn coordinator(epoch: u64) -> Message {
    Message::Coordinator {
        epoch: Epoch(epoch),
    }
}

const fn resign(epoch: u64) -> Message {
    Message::Resign {
        epoch: Epoch(epoch),
    }
}

fn await_alive() -> Action<u32> {
    Action::SetTimer {
        timer: Timer::AwaitAlive,
        after: ALIVE_TIMEOUT,
    }
}

/// An election of this peer's starts, past `epoch`.
const fn started(epoch: u64) -> Action<u32> {
    Action::ElectionStarted {
        epoch: Epoch(epoch),
    }
}

fn await_coordinator() -> Action<u32> {
    Action::SetTimer {
        timer: Timer::AwaitCoordinator,
        after: COORDINATOR_TIMEOUT,
    }
}

/// `me` after start-up with everyone alive: peer 5 leads epoch 9.
fn following_five(me: u32) -> Bully<u32> {
    let mut bully = peer(me);
    bully.handle(Input::Start);
    bully.handle(from(5, alive(0)));
    bully.handle(from(5, coordinator(9)));
    assert_eq!(bully.leader(), Some((&5, Epoch(9))));
    bully
}

/// Peer 5 leading epoch 9 after start-up.
fn five_leading() -> Bully<u32> {
    let mut five = peer(5);
    five.handle(Input::Start);
    assert!(five.is_leader());
    five
}

/// `me` after peer 5 died and peer 4 took over in epoch 13.
fn following_four(me: u32) -> Bully<u32> {
    let mut bully = following_five(me);
    bully.handle(Input::LeaderLost);
    bully.handle(from(4, alive(9)));
    bully.handle(from(4, coordinator(13)));
    assert_eq!(bully.leader(), Some((&4, Epoch(13))));
    bully
}

#[test]
fn config_defaults_are_150ms_and_400ms() {
    let config = Config::default();
    assert_eq!(config.alive_timeout, ALIVE_TIMEOUT);
    assert_eq!(config.coordinator_timeout, COORDINATOR_TIMEOUT);
}

#[test]
fn highest_peer_claims_at_once_on_start() {
    let mut five = peer(5);
    let mut expected = vec![started(0), Action::BecameLeader { epoch: Epoch(9) }];
    expected.extend(send_all(1..=4, coordinator(9)));
    assert_eq!(five.handle(Input::Start), expected);
    assert!(five.is_leader());
    assert_eq!(five.leader(), Some((&5, Epoch(9))));
    assert_eq!(five.epoch(), Epoch(9));
}

#[test]
fn startup_with_all_alive_the_highest_wins() {
    let mut three = peer(3);
    let mut expected = vec![started(0)];
    expected.extend(send_all([4, 5], election(0)));
    expected.push(await_alive());
    assert_eq!(three.handle(Input::Start), expected);
    assert!(three.is_electing());

    assert_eq!(
        three.handle(from(5, alive(0))),
        vec![Action::CancelTimer(Timer::AwaitAlive), await_coordinator()]
    );
    // A second Alive changes nothing: we already wait for a coordinator.
    assert_eq!(three.handle(from(4, alive(0))), vec![]);
    assert_eq!(
        three.handle(from(5, coordinator(9))),
        vec![
            Action::CancelTimer(Timer::AwaitCoordinator),
            Action::LeaderIs {
                leader: 5,
                epoch: Epoch(9)
            },
        ]
    );
    assert_eq!(three.leader(), Some((&5, Epoch(9))));
    assert!(!three.is_leader());
    assert!(!three.is_electing());
    // The same claim again is no news.
    assert_eq!(three.handle(from(5, coordinator(9))), vec![]);
}

#[test]
fn higher_peer_answers_alive_and_takes_over() {
    let mut four = peer(4);
    assert_eq!(
        four.handle(from(2, election(0))),
        vec![
            send(2, alive(0)),
            started(0),
            send(5, election(0)),
            await_alive()
        ]
    );
    // Peer 5 is dead: no Alive comes. The claim ends the election that
    // started: it does not start another.
    let mut expected = vec![Action::BecameLeader { epoch: Epoch(8) }];
    expected.extend(send_all([1, 2, 3, 5], coordinator(8)));
    assert_eq!(four.handle(Input::Timer(Timer::AwaitAlive)), expected);
    assert!(four.is_leader());
}

#[test]
fn lower_election_is_answered_and_bullied_by_the_leader() {
    let mut five = five_leading();
    // A restarted peer 3 knows no epoch: the leader tells it who leads.
    assert_eq!(
        five.handle(from(3, election(0))),
        vec![send(3, alive(9)), send(3, coordinator(9))]
    );
    assert_eq!(five.leader(), Some((&5, Epoch(9))));
}

#[test]
fn follower_of_a_higher_leader_answers_without_an_election_of_its_own() {
    // The leader, asked too, answers the asker itself.
    let mut four = following_five(4);
    assert_eq!(four.handle(from(3, election(9))), vec![send(3, alive(9))]);
    assert!(!four.is_electing());
    // But news of a newer epoch means the leader it knows is out of date.
    assert_eq!(
        four.handle(from(3, election(11))),
        vec![
            send(3, alive(11)),
            started(11),
            send(5, election(11)),
            await_alive()
        ]
    );
}

#[test]
fn leader_asked_with_a_newer_epoch_steps_down_and_claims_above_it() {
    let mut five = five_leading();
    let mut expected = vec![
        Action::SteppedDown { epoch: Epoch(9) },
        send(3, alive(13)),
        started(13),
        Action::BecameLeader { epoch: Epoch(19) },
    ];
    expected.extend(send_all(1..=4, coordinator(19)));
    assert_eq!(five.handle(from(3, election(13))), expected);
}

#[test]
fn next_peer_takes_over_when_the_highest_dies() {
    let mut four = following_five(4);
    assert_eq!(
        four.handle(Input::LeaderLost),
        vec![
            Action::LeaderGone {
                leader: 5,
                epoch: Epoch(9)
            },
            started(9),
            send(5, election(9)),
            await_alive(),
        ]
    );
    assert_eq!(four.leader(), None);
    let mut expected = vec![Action::BecameLeader { epoch: Epoch(13) }];
    expected.extend(send_all([1, 2, 3, 5], coordinator(13)));
    assert_eq!(four.handle(Input::Timer(Timer::AwaitAlive)), expected);

    let mut two = following_five(2);
    let mut expected = vec![
        Action::LeaderGone {
            leader: 5,
            epoch: Epoch(9),
        },
        started(9),
    ];
    expected.extend(send_all([3, 4, 5], election(9)));
    expected.push(await_alive());
    assert_eq!(two.handle(Input::LeaderLost), expected);
    assert_eq!(
        two.handle(from(4, alive(9))),
        vec![Action::CancelTimer(Timer::AwaitAlive), await_coordinator()]
    );
    assert_eq!(
        two.handle(from(4, coordinator(13))),
        vec![
            Action::CancelTimer(Timer::AwaitCoordinator),
            Action::LeaderIs {
                leader: 4,
                epoch: Epoch(13)
            },
        ]
    );
}

#[test]
fn peer_that_got_alive_but_no_coordinator_starts_over() {
    let mut two = peer(2);
    two.handle(Input::Start);
    two.handle(from(4, alive(0)));
    // Peer 4 died before it could claim: a new election starts.
    let mut expected = vec![started(0)];
    expected.extend(send_all([3, 4, 5], election(0)));
    expected.push(await_alive());
    assert_eq!(two.handle(Input::Timer(Timer::AwaitCoordinator)), expected);
    assert!(two.is_electing());
}

#[test]
fn timer_of_a_finished_stage_is_ignored() {
    let mut three = following_five(3);
    assert_eq!(three.handle(Input::Timer(Timer::AwaitAlive)), vec![]);
    assert_eq!(three.handle(Input::Timer(Timer::AwaitCoordinator)), vec![]);
    assert_eq!(three.leader(), Some((&5, Epoch(9))));
}

#[test]
fn stale_epoch_is_ignored() {
    let mut three = following_four(3);
    // Peer 5's old claim arrives late: ignored, but the claimant is told the
    // newer epoch in case it restarted and forgot.
    assert_eq!(
        three.handle(from(5, coordinator(9))),
        vec![send(5, alive(13))]
    );
    assert_eq!(three.handle(from(5, resign(9))), vec![]);
    assert_eq!(three.leader(), Some((&4, Epoch(13))));
    assert_eq!(three.epoch(), Epoch(13));
}

#[test]
fn claim_of_an_epoch_that_is_not_the_senders_is_ignored() {
    let mut three = peer(3);
    // Epoch 9 belongs to peer 5, epoch 4 to nobody (round 0).
    assert_eq!(three.handle(from(4, coordinator(9))), vec![]);
    assert_eq!(three.handle(from(5, coordinator(4))), vec![]);
    assert_eq!(three.handle(from(4, resign(9))), vec![]);
    assert_eq!(three.leader(), None);
    assert_eq!(three.epoch(), Epoch(0));
}

#[test]
fn messages_from_strangers_and_from_itself_are_ignored() {
    let mut three = peer(3);
    assert_eq!(three.handle(from(9, election(0))), vec![]);
    assert_eq!(three.handle(from(3, election(0))), vec![]);
    assert_eq!(three.handle(from(0, coordinator(5))), vec![]);
    assert_eq!(three, peer(3));
}

#[test]
fn leader_that_sees_a_higher_epoch_steps_down() {
    let mut four = following_five(4);
    four.handle(Input::LeaderLost);
    four.handle(Input::Timer(Timer::AwaitAlive));
    assert_eq!(four.leader(), Some((&4, Epoch(13))));
    // Peer 5 is back and won epoch 19.
    assert_eq!(
        four.handle(from(5, coordinator(19))),
        vec![
            Action::SteppedDown { epoch: Epoch(13) },
            Action::LeaderIs {
                leader: 5,
                epoch: Epoch(19)
            },
        ]
    );
    assert!(!four.is_leader());
}

#[test]
fn restarted_highest_peer_learns_the_epoch_and_claims_above_it() {
    let mut five = five_leading();
    // The others have moved on to epoch 13 while peer 5 was down: its claim
    // of 9 is answered with Alive{13}.
    let mut expected = vec![
        Action::SteppedDown { epoch: Epoch(9) },
        started(13),
        Action::BecameLeader { epoch: Epoch(19) },
    ];
    expected.extend(send_all(1..=4, coordinator(19)));
    assert_eq!(five.handle(from(3, alive(13))), expected);
    assert_eq!(five.epoch(), Epoch(19));
}

#[test]
fn newer_coordinator_from_a_lower_peer_is_bullied() {
    // The leader steps down and claims above the lower peer's epoch.
    let mut five = five_leading();
    let mut expected = vec![
        Action::SteppedDown { epoch: Epoch(9) },
        started(13),
        Action::BecameLeader { epoch: Epoch(19) },
    ];
    expected.extend(send_all(1..=4, coordinator(19)));
    assert_eq!(five.handle(from(4, coordinator(13))), expected);

    // A follower higher than the claimant accepts nothing and holds its own
    // election. Epoch 11 is peer 2's.
    let mut four = following_five(4);
    assert_eq!(
        four.handle(from(2, coordinator(11))),
        vec![started(11), send(5, election(11)), await_alive()]
    );
    assert_eq!(four.leader(), Some((&5, Epoch(9))));
    assert_eq!(four.epoch(), Epoch(11));
}

#[test]
fn leader_resigns_and_abstains_until_a_new_coordinator() {
    let mut five = five_leading();
    let mut expected = vec![Action::SteppedDown { epoch: Epoch(9) }];
    expected.extend(send_all(1..=4, resign(9)));
    assert_eq!(five.handle(Input::Resign), expected);
    assert!(five.is_resigned());
    assert_eq!(five.leader(), None);

    // It neither answers nor claims, whatever prompts it.
    assert_eq!(five.handle(from(4, election(9))), vec![]);
    assert_eq!(five.handle(Input::LeaderLost), vec![]);
    assert_eq!(five.handle(Input::Resign), vec![]);
    // It follows the new coordinator, though lower.
    assert_eq!(
        five.handle(from(4, coordinator(13))),
        vec![Action::LeaderIs {
            leader: 4,
            epoch: Epoch(13)
        }]
    );
    assert!(!five.is_resigned());
    // The new leader repeats its claim in heartbeats: no news, no bullying.
    assert_eq!(five.handle(from(4, coordinator(13))), vec![]);

    // Then it takes part normally: a later election lets it win again.
    let mut expected = vec![
        send(3, alive(13)),
        started(13),
        Action::BecameLeader { epoch: Epoch(19) },
    ];
    expected.extend(send_all(1..=4, coordinator(19)));
    assert_eq!(five.handle(from(3, election(13))), expected);
}

#[test]
fn followers_of_a_resigned_leader_elect_another() {
    let mut four = following_five(4);
    assert_eq!(
        four.handle(from(5, resign(9))),
        vec![
            Action::LeaderGone {
                leader: 5,
                epoch: Epoch(9)
            },
            started(9),
            send(5, election(9)),
            await_alive(),
        ]
    );
    // Peer 5 abstains, so no Alive: peer 4 claims.
    let mut expected = vec![Action::BecameLeader { epoch: Epoch(13) }];
    expected.extend(send_all([1, 2, 3, 5], coordinator(13)));
    assert_eq!(four.handle(Input::Timer(Timer::AwaitAlive)), expected);
}

#[test]
fn only_the_leader_can_resign_and_the_leader_ignores_leader_lost() {
    let mut three = following_five(3);
    assert_eq!(three.handle(Input::Resign), vec![]);
    let mut five = five_leading();
    assert_eq!(five.handle(Input::LeaderLost), vec![]);
    assert!(five.is_leader());
}

#[test]
fn start_ends_an_abstention() {
    let mut five = five_leading();
    five.handle(Input::Resign);
    let mut expected = vec![started(9), Action::BecameLeader { epoch: Epoch(14) }];
    expected.extend(send_all(1..=4, coordinator(14)));
    assert_eq!(five.handle(Input::Start), expected);
}

#[test]
fn a_lone_peer_leads_itself() {
    let mut alone = Bully::new("solo", [], Config::default());
    assert_eq!(
        alone.handle(Input::Start),
        vec![
            Action::ElectionStarted { epoch: Epoch(0) },
            Action::BecameLeader { epoch: Epoch(1) }
        ]
    );
    assert_eq!(alone.peers().count(), 0);
}

#[test]
fn only_a_leader_has_an_announcement_to_repeat() {
    let five = five_leading();
    assert_eq!(five.announcement(), Some(coordinator(9)));
    assert_eq!(following_five(3).announcement(), None);
}

#[test]
fn stale_leader_hears_the_announcement_of_a_newer_one() {
    // Peer 3 missed peer 5's claim of 14 and still leads 8.
    let mut three = peer(3);
    three.handle(from(5, coordinator(9)));
    three.handle(Input::LeaderLost);
    three.handle(Input::Timer(Timer::AwaitAlive));
    assert_eq!(three.leader(), Some((&3, Epoch(12))));
    assert_eq!(
        three.handle(from(5, coordinator(14))),
        vec![
            Action::SteppedDown { epoch: Epoch(12) },
            Action::LeaderIs {
                leader: 5,
                epoch: Epoch(14)
            },
        ]
    );
}

#[test]
fn a_leader_told_its_own_epoch_is_taken_steps_down_and_claims_past_it() {
    let mut five = five_leading();
    let mut expected = vec![
        Action::SteppedDown { epoch: Epoch(9) },
        started(9),
        Action::BecameLeader { epoch: Epoch(14) },
    ];
    expected.extend(send_all(1..=4, coordinator(14)));
    assert_eq!(five.handle(Input::EpochSeen(Epoch(9))), expected);
    assert_eq!(five.leader(), Some((&5, Epoch(14))));
}

#[test]
fn a_leader_told_of_a_newer_epoch_claims_past_it() {
    // Epoch 20 is round 4; peer 5 claims in the round after it: 5 * 5 + 4.
    let mut five = five_leading();
    let mut expected = vec![
        Action::SteppedDown { epoch: Epoch(9) },
        started(20),
        Action::BecameLeader { epoch: Epoch(29) },
    ];
    expected.extend(send_all(1..=4, coordinator(29)));
    assert_eq!(five.handle(Input::EpochSeen(Epoch(20))), expected);
}

#[test]
fn an_older_epoch_seen_changes_nothing() {
    let mut five = five_leading();
    assert_eq!(five.handle(Input::EpochSeen(Epoch(3))), vec![]);
    assert_eq!(five.leader(), Some((&5, Epoch(9))));
}

#[test]
fn a_follower_adopts_an_epoch_seen_and_keeps_its_leader() {
    let mut three = following_five(3);
    assert_eq!(three.handle(Input::EpochSeen(Epoch(20))), vec![]);
    assert_eq!(three.epoch(), Epoch(20));
    assert_eq!(three.leader(), Some((&5, Epoch(9))));
}

/// Peer 3 after no higher peer answered: it leads epoch 7.
fn three_claimed() -> Bully<u32> {
    let mut three = peer(3);
    three.handle(Input::Start);
    three.handle(Input::Timer(Timer::AwaitAlive));
    assert_eq!(three.leader(), Some((&3, Epoch(7))));
    three
}

#[test]
fn a_leader_fenced_by_a_higher_peers_epoch_follows_it() {
    // Epoch 9 is peer 5's: the store saw peer 5 lead, though peer 3 never
    // heard it (its connection may still be coming up).
    let mut three = three_claimed();
    let expected = vec![
        Action::SteppedDown { epoch: Epoch(7) },
        Action::LeaderIs {
            leader: 5,
            epoch: Epoch(9),
        },
    ];
    assert_eq!(three.handle(Input::EpochSeen(Epoch(9))), expected);
    assert_eq!(three.leader(), Some((&5, Epoch(9))));
}

#[test]
fn a_leader_fenced_by_a_lower_peers_epoch_runs_again_past_it() {
    // Epoch 10 is peer 1's: a lower peer may not lead while 3 lives.
    let mut three = three_claimed();
    let mut expected = vec![Action::SteppedDown { epoch: Epoch(7) }, started(10)];
    expected.extend(send_all([4, 5], election(10)));
    expected.push(await_alive());
    assert_eq!(three.handle(Input::EpochSeen(Epoch(10))), expected);
}

#[test]
fn an_election_is_said_to_start_once_and_not_again_when_it_is_won() {
    let mut three = peer(3);
    let actions = three.handle(Input::Start);
    assert_eq!(actions[0], started(0));
    // A second start while it runs starts nothing.
    assert_eq!(three.handle(Input::Start), vec![]);
    assert_eq!(three.handle(Input::LeaderLost), vec![]);
    // Nobody higher answers: it claims, and that ends the election.
    let mut expected = vec![Action::BecameLeader { epoch: Epoch(7) }];
    expected.extend(send_all([1, 2, 4, 5], coordinator(7)));
    assert_eq!(three.handle(Input::Timer(Timer::AwaitAlive)), expected);
}

#[test]
fn a_stale_timer_starts_no_election() {
    // Peer 2 waits for an Alive; an AwaitCoordinator timer of an earlier
    // election fires late: no election starts over.
    let mut two = peer(2);
    two.handle(Input::Start);
    assert!(two.is_electing());
    assert_eq!(two.handle(Input::Timer(Timer::AwaitCoordinator)), vec![]);
}

/// One input for the property below: small epochs, peers 1..=5.
fn any_input() -> impl Strategy<Value = Input<u32>> {
    let epoch = (0_u64..40).prop_map(Epoch);
    let msg = (0_u8..4, epoch.clone()).prop_map(|(kind, epoch)| match kind {
        0 => Message::Election { epoch },
        1 => Message::Alive { epoch },
        2 => Message::Coordinator { epoch },
        _ => Message::Resign { epoch },
    });
    prop_oneof![
        6 => (1_u32..=5, msg).prop_map(|(from, msg)| Input::Message { from, msg }),
        2 => Just(Input::Timer(Timer::AwaitAlive)),
        2 => Just(Input::Timer(Timer::AwaitCoordinator)),
        1 => Just(Input::LeaderLost),
        1 => Just(Input::Resign),
        1 => Just(Input::Start),
        1 => epoch.prop_map(Input::EpochSeen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `ElectionStarted` is said exactly when an election of this peer's
    /// begins: from idle it asks the higher peers or claims outright, or an
    /// election that waited in vain for a coordinator starts over. It is
    /// said at most once per input, before the `Election`s it sends (with
    /// its epoch) or the claim it makes (above its epoch).
    #[test]
    fn an_election_is_said_to_start_exactly_when_one_starts(
        me in 1_u32..=5,
        inputs in proptest::collection::vec(any_input(), 1..60),
    ) {
        let mut bully = peer(me);
        for input in inputs {
            let before = bully.stage;
            let actions = bully.handle(input.clone());
            let claimed = actions.iter().any(|a| matches!(a, Action::BecameLeader { .. }));
            let starts_over = before == Stage::AwaitCoordinator
                && input == Input::Timer(Timer::AwaitCoordinator);
            let expected = (before == Stage::Idle || starts_over)
                && (bully.stage != Stage::Idle || claimed);
            let said: Vec<usize> = actions
                .iter()
                .enumerate()
                .filter(|(_, a)| matches!(a, Action::ElectionStarted { .. }))
                .map(|(i, _)| i)
                .collect();
            prop_assert_eq!(said.len(), usize::from(expected), "{:?}: {:?}", input, actions);
            if let [at] = said[..] {
                let Action::ElectionStarted { epoch } = actions[at] else { unreachable!() };
                let next_ok = match actions.get(at + 1) {
                    Some(Action::Send { msg: Message::Election { epoch: e }, .. }) => *e == epoch,
                    Some(Action::BecameLeader { epoch: e }) => *e > epoch,
                    _ => false,
                };
                prop_assert!(next_ok, "{:?}: {:?}", input, actions);
            }
        }
    }
}
