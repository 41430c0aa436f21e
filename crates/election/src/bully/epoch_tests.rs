//! Epochs at the edges: forged leaps refused, the ceiling, the last claim,
//! and, by proptest, that no sequence of messages leaves a peer unable to
//! outbid what it accepted. Peers 1..=5, as in `tests.rs`.

use proptest::prelude::*;

use super::*;
use crate::{DEFAULT_MAX_EPOCH_LEAD, Refusal};

const LEAD: u64 = DEFAULT_MAX_EPOCH_LEAD;

/// 2^63 = 5 * 1844674407370955161 + 3: five peers' last whole round ends
/// three below `Epoch::MAX`, and the ceiling is a round below that.
const LAST: u64 = Epoch::MAX.0 - 3;
const CEILING: u64 = LAST - 5;

fn peer_with_lead(me: u32, max_epoch_lead: u64) -> Bully<u32> {
    let config = Config {
        max_epoch_lead,
        ..Config::default()
    };
    Bully::new(me, 1..=5, config)
}

fn from(from: u32, msg: Message) -> Input<u32> {
    Input::Message { from, msg }
}

fn coordinator(epoch: u64) -> Message {
    Message::Coordinator {
        epoch: Epoch(epoch),
    }
}

/// The highest epoch of `peer`'s (1..=5) at or below `at`.
fn owned_by(peer: u64, at: u64) -> u64 {
    at - (at + 5 - (peer - 1)) % 5
}

fn five_leading() -> Bully<u32> {
    let mut five = peer_with_lead(5, LEAD);
    five.handle(Input::Start);
    assert_eq!(five.leader(), Some((&5, Epoch(9))));
    five
}

#[test]
fn the_bounds_of_five_peers() {
    let five = five_leading();
    assert_eq!(five.ceiling(), Epoch(CEILING));
    assert_eq!(five.members.last(), Epoch(LAST));
    assert_eq!(Epoch::MAX, Epoch(i64::MAX as u64));
}

#[test]
fn a_forged_coordinator_far_ahead_does_not_depose_the_leader() {
    // The attack: a claim of an epoch near the top, in a lower peer's name.
    let mut five = five_leading();
    let before = five.clone();
    let forged = owned_by(4, u64::MAX - 5);
    assert_eq!(
        five.handle(from(4, coordinator(forged))),
        vec![Action::Refused {
            from: 4,
            epoch: Epoch(forged),
            reason: Refusal::TooFarAhead {
                seen: Epoch(9),
                max_lead: LEAD,
            },
        }]
    );
    assert_eq!(five, before, "a refused message changes nothing");
    assert!(five.is_leader());
}

#[test]
fn every_kind_of_message_is_bounded() {
    let far = 9 + LEAD + 1;
    for msg in [
        Message::Election { epoch: Epoch(far) },
        Message::Alive { epoch: Epoch(far) },
        Message::Coordinator { epoch: Epoch(far) },
        Message::Resign { epoch: Epoch(far) },
    ] {
        let mut five = five_leading();
        let actions = five.handle(from(4, msg));
        assert!(
            matches!(
                actions.as_slice(),
                [Action::Refused {
                    reason: Refusal::TooFarAhead { .. },
                    ..
                }]
            ),
            "{msg:?}: {actions:?}"
        );
        assert!(five.is_leader());
    }
}

#[test]
fn an_epoch_at_the_lead_is_followed_one_round_past_it_is_refused() {
    let mut three = peer_with_lead(3, LEAD);
    three.handle(Input::Start);
    three.handle(from(5, coordinator(9)));
    let at_bound = owned_by(5, 9 + LEAD);
    let past = at_bound + 5;
    assert_eq!(
        three.handle(from(5, coordinator(past))),
        vec![Action::Refused {
            from: 5,
            epoch: Epoch(past),
            reason: Refusal::TooFarAhead {
                seen: Epoch(9),
                max_lead: LEAD,
            },
        }]
    );
    assert_eq!(
        three.handle(from(5, coordinator(at_bound))),
        vec![Action::LeaderIs {
            leader: 5,
            epoch: Epoch(at_bound),
        }]
    );
}

#[test]
fn the_ceiling_is_accepted_and_outbid_above_it_is_refused() {
    let mut three = peer_with_lead(3, u64::MAX);
    three.handle(Input::Start);
    let top = owned_by(5, CEILING);
    three.handle(from(5, coordinator(top)));
    assert_eq!(three.leader(), Some((&5, Epoch(top))));
    let above = top + 5;
    assert_eq!(
        three.handle(from(5, coordinator(above))),
        vec![Action::Refused {
            from: 5,
            epoch: Epoch(above),
            reason: Refusal::AboveCeiling {
                ceiling: Epoch(CEILING),
            },
        }]
    );
    // Peer 5 is gone; peer 3 still has an epoch of its own above the top.
    three.handle(Input::LeaderLost);
    let claimed = three.handle(Input::Timer(Timer::AwaitAlive));
    assert_eq!(
        claimed[0],
        Action::BecameLeader {
            epoch: Epoch(LAST - 2)
        }
    );
    assert!(Epoch(LAST - 2) > Epoch(top) && Epoch(LAST) <= Epoch::MAX);
}

#[test]
fn past_the_last_epoch_a_claim_is_refused_not_saturated() {
    let mut five = peer_with_lead(5, u64::MAX);
    // Peer 4 holds an election at the ceiling: peer 5 bullies and claims
    // the last epoch of all.
    let actions = five.handle(from(
        4,
        Message::Election {
            epoch: Epoch(CEILING),
        },
    ));
    assert!(actions.contains(&Action::BecameLeader { epoch: Epoch(LAST) }));
    five.handle(Input::Resign);
    assert_eq!(
        five.handle(Input::Start),
        vec![Action::Refused {
            from: 5,
            epoch: Epoch(LAST),
            reason: Refusal::Exhausted { last: Epoch(LAST) },
        }]
    );
    assert!(!five.is_leader());
}

#[test]
fn an_epoch_from_storage_is_not_bounded_by_the_lead_but_by_the_ceiling() {
    let mut three = peer_with_lead(3, LEAD);
    three.handle(Input::EpochSeen(Epoch(1 << 40)));
    assert_eq!(three.epoch(), Epoch(1 << 40));
    three.handle(Input::EpochSeen(Epoch(u64::MAX)));
    assert_eq!(three.epoch(), Epoch(CEILING));
}

/// One input of the property test.
fn input() -> impl Strategy<Value = Input<u32>> {
    let epoch = prop_oneof![
        0_u64..200,
        any::<u64>(),
        (CEILING - 12)..(Epoch::MAX.0 + 12),
        (u64::MAX - 12)..=u64::MAX,
    ]
    .prop_map(Epoch);
    let msg = (0_u8..4, epoch.clone()).prop_map(|(kind, epoch)| match kind {
        0 => Message::Election { epoch },
        1 => Message::Alive { epoch },
        2 => Message::Coordinator { epoch },
        _ => Message::Resign { epoch },
    });
    prop_oneof![
        6 => (1_u32..=5, msg).prop_map(|(from, msg)| Input::Message { from, msg }),
        1 => Just(Input::Timer(Timer::AwaitAlive)),
        1 => Just(Input::Timer(Timer::AwaitCoordinator)),
        1 => Just(Input::LeaderLost),
        1 => Just(Input::Resign),
        1 => Just(Input::Start),
        1 => epoch.prop_map(Input::EpochSeen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever epochs a peer accepted, it claimed a later one already or
    /// can still claim one; claims never pass `Epoch::MAX` and only rise;
    /// a refused message changes nothing.
    #[test]
    fn no_messages_leave_a_peer_unable_to_outbid_what_it_accepted(
        me in 1_u32..=5,
        lead in prop_oneof![Just(10_u64), Just(LEAD), Just(u64::MAX)],
        inputs in proptest::collection::vec(input(), 1..60),
    ) {
        let mut bully = peer_with_lead(me, lead);
        let (mut accepted, mut claimed) = (Epoch(0), Epoch(0));
        for input in inputs {
            let before = bully.clone();
            let actions = bully.handle(input.clone());
            let refused = matches!(actions.as_slice(), [Action::Refused { .. }]);
            if refused && matches!(input, Input::Message { .. }) {
                prop_assert_eq!(&bully, &before, "refused {:?} but changed", input);
            }
            let mut claims = false;
            for action in &actions {
                if let Action::BecameLeader { epoch } = action {
                    prop_assert!(*epoch > claimed && *epoch <= Epoch::MAX);
                    claimed = *epoch;
                    claims = true;
                }
            }
            // An epoch learned from others, not claimed.
            if !claims && bully.epoch() > before.epoch() {
                accepted = bully.epoch();
            }
            let can_outbid = bully.members.next_epoch(bully.epoch()).is_some_and(|e| e > accepted);
            prop_assert!(
                claimed > accepted || can_outbid,
                "peer {} accepted {} but claimed only {} and cannot claim above {}",
                me, accepted, claimed, bully.epoch()
            );
        }
    }
}
