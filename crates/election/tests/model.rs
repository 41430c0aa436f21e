//! Model checking of the bully election with stateright: every interleaving
//! of message deliveries, losses, timer expiries, crashes, restarts and
//! resignations, up to small bounds, for 3 and 4 peers.
//!
//! The machine under check is the crate's own [`Bully`]; the model is only
//! the world around it: an unordered network (a multiset of envelopes),
//! pending timers, heartbeats, and budgets of faults.
//!
//! Properties:
//! - `always` **one leader per epoch**: no epoch is ever claimed by two peers
//!   (the claims so far are part of the state), and no two live peers lead
//!   the same epoch.
//! - `always` **settled means agreed**: in a settled state (nothing in
//!   flight, no timer pending, no follower whose leader fell silent, no
//!   leader announcement that would change anything) every live peer follows
//!   the highest live peer that has not resigned, in one epoch no lower than
//!   any a live peer has seen. A run cannot come to rest in disagreement.
//! - `eventually` **agreement** (loss-free variant with timely timers): every
//!   run that ends does so in agreement.
//! - `sometimes` checks that the interesting states are reached at all.
//!
//! Epochs are capped (a few rounds) to keep the state space finite: states
//! beyond the cap are not explored.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use bazaar_election::{Action, Bully, Config, Epoch, Input, Message, Timer};
use stateright::{Checker, Model, Property};

type Id = u8;

/// A message in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Envelope {
    from: Id,
    to: Id,
    msg: Message,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct World {
    /// Indexed by id; `None` while crashed.
    peers: Vec<Option<Bully<Id>>>,
    /// A multiset: envelope -> copies in flight.
    network: BTreeMap<Envelope, u8>,
    timers: BTreeSet<(Id, Timer)>,
    /// Every (epoch, claimant) so far.
    claims: BTreeSet<(Epoch, Id)>,
    /// Peers that resigned and were passed over since.
    passed_over: BTreeSet<Id>,
    crashes: u8,
    restarts: u8,
    losses: u8,
    resignations: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Step {
    Deliver(Envelope),
    Lose(Envelope),
    Fire(Id, Timer),
    /// The application of `Id` missed its leader's heartbeats.
    LeaderLost(Id),
    /// A leader repeats its claim to one peer, as heartbeats do.
    Announce(Id, Id),
    Crash(Id),
    Restart(Id),
    Resign(Id),
}

/// The world's bounds.
#[derive(Debug)]
struct Election {
    peers: u8,
    max_crashes: u8,
    max_restarts: u8,
    max_losses: u8,
    max_resignations: u8,
    /// Timers may fire while messages are still in flight (timeouts shorter
    /// than some delays); otherwise only once the network is empty.
    early_timers: bool,
    /// No epoch beyond this is explored.
    epoch_cap: u64,
    /// No state with more copies of one envelope in flight is explored.
    max_copies: u8,
    /// Start from a settled world (the highest peer leads) rather than from
    /// every peer's `Start`: start-up is checked elsewhere, faults here.
    from_settled: bool,
    /// Set once a state beyond the epoch cap was met (and not explored).
    capped: Arc<AtomicBool>,
}

impl Election {
    fn new(peers: u8, rounds: u64) -> Self {
        Self {
            peers,
            max_crashes: 1,
            max_restarts: 1,
            max_losses: 0,
            max_resignations: 0,
            early_timers: false,
            epoch_cap: rounds * u64::from(peers) + u64::from(peers) - 1,
            max_copies: 1,
            from_settled: false,
            capped: Arc::default(),
        }
    }

    /// No crash, no restart: start-up alone.
    fn faultless(self) -> Self {
        Self {
            max_crashes: 0,
            max_restarts: 0,
            ..self
        }
    }

    fn ids(&self) -> impl Iterator<Item = Id> + use<> {
        0..self.peers
    }

    fn fresh(&self, id: Id) -> Bully<Id> {
        Bully::new(id, self.ids(), Config::default())
    }

    /// Feeds `input` to live peer `id` and performs its actions on `world`.
    fn input(&self, world: &mut World, id: Id, input: Input<Id>) {
        let Some(peer) = world.peers[usize::from(id)].as_mut() else {
            return;
        };
        let was_resigned = peer.is_resigned();
        let actions = peer.handle(input);
        if peer.is_resigned() && !was_resigned {
            world.passed_over.insert(id);
        }
        for action in actions {
            match action {
                Action::Send { to, msg } => {
                    *world
                        .network
                        .entry(Envelope { from: id, to, msg })
                        .or_default() += 1;
                }
                Action::SetTimer { timer, .. } => {
                    world.timers.insert((id, timer));
                }
                Action::CancelTimer(timer) => {
                    world.timers.remove(&(id, timer));
                }
                Action::BecameLeader { epoch } => {
                    world.claims.insert((epoch, id));
                    world.passed_over.remove(&id);
                }
                Action::ElectionStarted { .. }
                | Action::LeaderIs { .. }
                | Action::SteppedDown { .. }
                | Action::LeaderGone { .. }
                | Action::Refused { .. } => {}
            }
        }
    }

    fn live(world: &World) -> impl Iterator<Item = (Id, &Bully<Id>)> {
        world
            .peers
            .iter()
            .enumerate()
            .filter_map(|(id, peer)| Some((Id::try_from(id).ok()?, peer.as_ref()?)))
    }

    /// A follower whose leader is dead or no longer leads that epoch stops
    /// hearing heartbeats.
    fn leader_silent(world: &World, id: Id) -> bool {
        let Some((leader, epoch)) = world.peers[usize::from(id)]
            .as_ref()
            .and_then(Bully::leader)
        else {
            return false;
        };
        *leader != id
            && world.peers[usize::from(*leader)]
                .as_ref()
                .is_none_or(|l| l.leader() != Some((leader, epoch)))
    }

    /// Whether leader `from`'s announcement is news to `to`: `to` does not
    /// follow it in its epoch. (Rarely, news that changes nothing.)
    fn announcement_matters(world: &World, from: Id, to: Id) -> bool {
        let (Some(leader), Some(peer)) = (
            world.peers[usize::from(from)].as_ref(),
            world.peers[usize::from(to)].as_ref(),
        ) else {
            return false;
        };
        from != to && leader.is_leader() && peer.leader() != Some((&from, leader.epoch()))
    }

    fn settled(&self, world: &World) -> bool {
        world.network.is_empty()
            && world.timers.is_empty()
            && self.ids().all(|id| !Self::leader_silent(world, id))
            && self.ids().all(|from| {
                self.ids()
                    .all(|to| !Self::announcement_matters(world, from, to))
            })
    }

    /// Every live peer follows the highest live peer not passed over, in
    /// one epoch no lower than any a live peer has seen.
    fn agreed(world: &World) -> bool {
        let expected = Self::live(world)
            .map(|(id, _)| id)
            .filter(|id| !world.passed_over.contains(id))
            .max();
        let Some(expected) = expected else {
            return Self::live(world).all(|(_, peer)| peer.leader().is_none());
        };
        let Some((_, epoch)) = world.peers[usize::from(expected)]
            .as_ref()
            .and_then(Bully::leader)
        else {
            return false;
        };
        Self::live(world)
            .all(|(_, peer)| peer.leader() == Some((&expected, epoch)) && peer.epoch() <= epoch)
    }

    fn one_leader_per_epoch(world: &World) -> bool {
        let mut claimed: BTreeMap<Epoch, Id> = BTreeMap::new();
        let history = world
            .claims
            .iter()
            .all(|(epoch, id)| *claimed.entry(*epoch).or_insert(*id) == *id);
        let mut leading = BTreeSet::new();
        let now = Self::live(world)
            .filter(|(_, peer)| peer.is_leader())
            .all(|(_, peer)| leading.insert(peer.epoch()));
        history && now
    }
}

impl Model for Election {
    type State = World;
    type Action = Step;

    fn init_states(&self) -> Vec<World> {
        let mut world = World {
            peers: self.ids().map(|id| Some(self.fresh(id))).collect(),
            network: BTreeMap::new(),
            timers: BTreeSet::new(),
            claims: BTreeSet::new(),
            passed_over: BTreeSet::new(),
            crashes: 0,
            restarts: 0,
            losses: 0,
            resignations: 0,
        };
        for id in self.ids() {
            self.input(&mut world, id, Input::Start);
        }
        if self.from_settled {
            // One orderly run: deliver everything, then let timers fire.
            loop {
                let step = match (world.network.keys().next(), world.timers.first()) {
                    (Some(envelope), _) => Step::Deliver(*envelope),
                    (None, Some((id, timer))) => Step::Fire(*id, *timer),
                    (None, None) => break,
                };
                world = self.next_state(&world, step).expect("an enabled step");
            }
            assert!(Self::agreed(&world), "start-up did not settle: {world:?}");
        }
        vec![world]
    }

    fn actions(&self, world: &World, actions: &mut Vec<Step>) {
        for envelope in world.network.keys() {
            actions.push(Step::Deliver(*envelope));
            if world.losses < self.max_losses {
                actions.push(Step::Lose(*envelope));
            }
        }
        if self.early_timers || world.network.is_empty() {
            for (id, timer) in &world.timers {
                actions.push(Step::Fire(*id, *timer));
            }
            for id in self.ids() {
                if Self::leader_silent(world, id) {
                    actions.push(Step::LeaderLost(id));
                }
            }
        }
        // Heartbeats are periodic: model them between bursts of traffic.
        if world.network.is_empty() {
            for from in self.ids() {
                for to in self.ids() {
                    if Self::announcement_matters(world, from, to) {
                        actions.push(Step::Announce(from, to));
                    }
                }
            }
        }
        let live = Self::live(world).count();
        for id in self.ids() {
            match &world.peers[usize::from(id)] {
                Some(peer) => {
                    if world.crashes < self.max_crashes && live > 1 {
                        actions.push(Step::Crash(id));
                    }
                    if world.resignations < self.max_resignations && peer.is_leader() {
                        actions.push(Step::Resign(id));
                    }
                }
                None if world.restarts < self.max_restarts => actions.push(Step::Restart(id)),
                None => {}
            }
        }
    }

    fn next_state(&self, world: &World, step: Step) -> Option<World> {
        let mut next = world.clone();
        match step {
            Step::Deliver(envelope) | Step::Lose(envelope) => {
                let copies = next.network.get_mut(&envelope)?;
                *copies -= 1;
                if *copies == 0 {
                    next.network.remove(&envelope);
                }
                if matches!(step, Step::Lose(_)) {
                    next.losses += 1;
                } else {
                    let Envelope { from, to, msg } = envelope;
                    self.input(&mut next, to, Input::Message { from, msg });
                }
            }
            Step::Fire(id, timer) => {
                next.timers.remove(&(id, timer));
                self.input(&mut next, id, Input::Timer(timer));
            }
            Step::LeaderLost(id) => self.input(&mut next, id, Input::LeaderLost),
            Step::Announce(from, to) => {
                let msg = next.peers[usize::from(from)].as_ref()?.announcement()?;
                self.input(&mut next, to, Input::Message { from, msg });
            }
            Step::Crash(id) => {
                next.crashes += 1;
                next.peers[usize::from(id)] = None;
                next.timers.retain(|(peer, _)| *peer != id);
                next.passed_over.remove(&id);
            }
            Step::Restart(id) => {
                next.restarts += 1;
                next.peers[usize::from(id)] = Some(self.fresh(id));
                self.input(&mut next, id, Input::Start);
            }
            Step::Resign(id) => {
                next.resignations += 1;
                self.input(&mut next, id, Input::Resign);
            }
        }
        Some(next)
    }

    fn within_boundary(&self, world: &World) -> bool {
        let cap = Epoch(self.epoch_cap);
        let within = Self::live(world).all(|(_, peer)| peer.epoch() <= cap)
            && world.network.keys().all(|e| e.msg.epoch() <= cap);
        if !within {
            self.capped.store(true, Ordering::Relaxed);
        }
        within
            && world
                .network
                .values()
                .all(|copies| *copies <= self.max_copies)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut properties = vec![
            Property::always("one leader per epoch", |_, world| {
                Self::one_leader_per_epoch(world)
            }),
            Property::always("settled means agreed", |model: &Self, world: &World| {
                !model.settled(world) || Self::agreed(world)
            }),
            Property::sometimes("the highest peer leads", |model: &Self, world: &World| {
                let top = model.peers - 1;
                world.peers[usize::from(top)]
                    .as_ref()
                    .is_some_and(Bully::is_leader)
            }),
        ];
        if self.max_crashes > 0 {
            properties.push(Property::sometimes(
                "another peer leads after a crash",
                |model: &Self, world: &World| {
                    world.crashes > 0
                        && Self::live(world)
                            .any(|(id, peer)| peer.is_leader() && id < model.peers - 1)
                },
            ));
        }
        if !self.early_timers {
            properties.push(Property::eventually("agreement", |_, world| {
                Self::agreed(world)
            }));
        }
        if self.max_resignations > 0 {
            properties.push(Property::sometimes(
                "a resigned peer follows",
                |_, world| {
                    Self::live(world).any(|(id, peer)| {
                        world.passed_over.contains(&id) && peer.leader().is_some()
                    })
                },
            ));
        }
        properties
    }
}

/// A guard against a state space that grew by mistake.
const STATE_LIMIT: usize = 3_000_000;

/// Checks `model`, prints its state counts, and asserts its properties; with
/// `exhaustive`, also that the epoch cap never bound, so that every
/// reachable state was explored.
fn check(name: &str, model: Election, exhaustive: bool) {
    let started = Instant::now();
    let checker = model
        .checker()
        .threads(2)
        .target_state_count(STATE_LIMIT)
        .spawn_bfs()
        .join();
    let capped = checker.model().capped.load(Ordering::Relaxed);
    println!(
        "{name}: {} states generated, {} unique, max depth {}, epoch cap {}, in {:?}",
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth(),
        if capped { "reached" } else { "never reached" },
        started.elapsed()
    );
    checker.assert_properties();
    assert!(
        checker.state_count() < STATE_LIMIT,
        "state space grew past the limit"
    );
    assert!(!(exhaustive && capped), "the epoch cap cut the state space");
}

#[test]
fn three_peers_from_start_up_with_a_crash_a_restart_and_a_resignation() {
    let model = Election {
        max_resignations: 1,
        ..Election::new(3, 8)
    };
    check(
        "3 peers, start-up, crash + restart + resignation",
        model,
        true,
    );
}

#[test]
fn four_peers_from_start_up() {
    check("4 peers, start-up", Election::new(4, 8).faultless(), true);
}

#[test]
fn four_peers_with_a_crash_a_restart_and_a_lost_message() {
    let model = Election {
        max_losses: 1,
        from_settled: true,
        ..Election::new(4, 8)
    };
    check("4 peers, settled, crash + restart + 1 loss", model, true);
}

#[test]
fn four_peers_with_a_crash_and_a_resignation() {
    let model = Election {
        max_restarts: 0,
        max_resignations: 1,
        from_settled: true,
        ..Election::new(4, 8)
    };
    check("4 peers, settled, crash + resignation", model, true);
}

#[test]
fn three_peers_with_early_timers_a_crash_a_restart_and_a_lost_message() {
    // Timers that fire before replies arrive can make peers claim over and
    // over, each claim a new epoch: only safety is at stake here, and the
    // epoch cap (two rounds) bounds the search.
    let model = Election {
        max_losses: 1,
        early_timers: true,
        from_settled: true,
        ..Election::new(3, 2)
    };
    check(
        "3 peers, settled, early timers, crash + restart + 1 loss",
        model,
        false,
    );
}
