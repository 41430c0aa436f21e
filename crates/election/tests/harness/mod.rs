//! A seeded, single-threaded simulation of many election peers.
//!
//! Messages and timers wait in one queue ordered by simulated time. Until
//! `faults_end` the network drops and delays messages at random, peers crash,
//! restart (a fresh machine fed `Start`), resign or wrongly suspect their
//! leader; afterwards the network is reliable and prompt. The harness plays
//! the embedding application: it performs every action, and runs heartbeats:
//! every leader sends its `announcement` to every peer each period, and a
//! follower that hears nothing from its leader for two periods in a row gets
//! `LeaderLost`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bazaar_election::{Action, Bully, Config, Epoch, Input, Message, Timer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Records a trace line, formatted only when tracing.
macro_rules! note {
    ($sim:expr, ($($arg:tt)*)) => {
        if $sim.tracing {
            $sim.note(format_args!($($arg)*));
        }
    };
}

/// Node ids: not contiguous, to keep the machine honest about `Ord`.
pub type Id = u32;

const HEARTBEAT: Duration = Duration::from_millis(100);
/// Missed heartbeat periods before the application reports `LeaderLost`.
const MISSED_HEARTBEATS: u32 = 2;
/// How long after the faults stop the peers have to agree.
pub const SETTLE_BOUND: Duration = Duration::from_secs(10);
/// How long agreement must then hold, untouched, heartbeats flowing.
const WATCH: Duration = Duration::from_secs(1);
/// How many events after the faults stop the peers have to agree.
pub const SETTLE_STEPS: u64 = 2_000_000;
/// Trace lines kept to print on failure.
const TRACE_TAIL: usize = 60;

/// A peer's id, the leader it follows and the highest epoch it has seen.
type View = (Id, Option<(Id, Epoch)>, Epoch);

/// How one run unfolded.
#[derive(Debug, Default, Clone, Copy)]
pub struct Outcome {
    /// Peers in the run.
    pub peers: usize,
    /// Simulated time from the end of faults until everyone agreed.
    pub settle_time: Duration,
    /// Events processed in the whole run.
    pub events: u64,
    /// Crashes injected.
    pub crashes: u32,
    /// Claims of leadership (`BecameLeader`) in the whole run.
    pub claims: u32,
}

#[derive(Debug, Clone)]
enum Event {
    Deliver {
        to: Id,
        from: Id,
        msg: Message,
        heartbeat: bool,
    },
    Fire {
        peer: Id,
        timer: Timer,
        token: u64,
    },
    Heartbeat,
    Fault,
}

/// The simulated world.
pub struct Sim {
    rng: ChaCha8Rng,
    config: Config,
    ids: Vec<Id>,
    /// `None` while crashed.
    peers: BTreeMap<Id, Option<Bully<Id>>>,
    now: Duration,
    seq: u64,
    queue: BTreeMap<(Duration, u64), Event>,
    /// The token of each pending timer; a fired timer whose token no longer
    /// matches was cancelled, replaced, or belonged to a crashed incarnation.
    timers: BTreeMap<(Id, Timer), u64>,
    faults_end: Duration,
    drop_chance: f64,
    max_faulty_delay: Duration,
    max_calm_delay: Duration,
    missed: BTreeMap<Id, u32>,
    /// Peers that resigned and were passed over since; the harness expects
    /// the highest live peer not among them to lead.
    passed_over: BTreeSet<Id>,
    /// Who claimed each epoch, ever.
    claimants: BTreeMap<Epoch, BTreeSet<Id>>,
    outcome: Outcome,
    /// Election messages (not heartbeats) in flight.
    election_messages: usize,
    /// Leadership actions performed, counted from the moment of agreement.
    leadership_changes: u32,
    tracing: bool,
    trace: Vec<String>,
    verbose: bool,
}

impl Sim {
    /// A world drawn from `seed`: 3 to 50 peers, mostly few.
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let count = if rng.random_bool(0.85) {
            rng.random_range(3..=8)
        } else {
            rng.random_range(9..=50)
        };
        let ids: Vec<Id> = (1..=count)
            .map(|i| i * 10 + rng.random_range(0..10))
            .collect();
        let config = Config::default();
        let faults_end = Duration::from_millis(rng.random_range(300..=3_000));
        let drop_chance = [0.0, 0.02, 0.1][rng.random_range(0..3)];
        let max_faulty_delay = config.alive_timeout * rng.random_range(1..=3);
        let peers = ids.iter().map(|id| (*id, None)).collect();
        let mut sim = Self {
            rng,
            config,
            ids,
            peers,
            now: Duration::ZERO,
            seq: 0,
            queue: BTreeMap::new(),
            timers: BTreeMap::new(),
            faults_end,
            drop_chance,
            max_faulty_delay,
            max_calm_delay: config.alive_timeout / 3,
            missed: BTreeMap::new(),
            passed_over: BTreeSet::new(),
            claimants: BTreeMap::new(),
            outcome: Outcome {
                peers: count as usize,
                ..Outcome::default()
            },
            election_messages: 0,
            leadership_changes: 0,
            tracing: false,
            trace: Vec::new(),
            verbose: false,
        };
        // Peers boot at staggered times.
        for id in sim.ids.clone() {
            let at = Duration::from_millis(sim.rng.random_range(0..200));
            sim.schedule(at, Event::Fault);
            sim.restart(id).expect("a fresh peer starts");
        }
        sim.schedule(HEARTBEAT, Event::Heartbeat);
        sim
    }

    /// Runs until the peers agree after the faults stop; checks safety at
    /// every step. On failure, runs the seed again with a trace (runs are
    /// deterministic) and says what went wrong with the trace's tail.
    pub fn run(seed: u64) -> Result<Outcome, String> {
        Self::new(seed).drive().map_err(|_| {
            let mut traced = Self::new(seed);
            traced.tracing = true;
            let why = traced.drive().err().unwrap_or_default();
            let tail = traced.trace.len().saturating_sub(TRACE_TAIL);
            format!(
                "{why}\n--- last events ---\n{}",
                traced.trace[tail..].join("\n")
            )
        })
    }

    /// Runs `seed`, printing every event as it happens.
    pub fn replay(seed: u64) -> Result<Outcome, String> {
        let mut sim = Self::new(seed);
        sim.tracing = true;
        sim.verbose = true;
        sim.drive()
    }

    /// Once the faults stop, and the messages they delayed have landed,
    /// waits for the election traffic to die down with every live peer in
    /// agreement, then watches that agreement hold.
    fn drive(&mut self) -> Result<Outcome, String> {
        let mut settle_steps = 0_u64;
        let mut settled_at = None;
        // Late messages of the faulty period may still cause a suspicion
        // until every follower has heard two heartbeats sent after it.
        let calm = self.faults_end + self.max_faulty_delay + HEARTBEAT * MISSED_HEARTBEATS;
        loop {
            if self.now >= calm {
                match settled_at {
                    None if self.is_quiet() && self.check_agreement().is_ok() => {
                        settled_at = Some(self.now);
                        self.outcome.settle_time = self.now - self.faults_end;
                        self.leadership_changes = 0;
                    }
                    None => {}
                    Some(at) => {
                        // Any change of anyone's leader breaks the agreement.
                        if self.leadership_changes > 0 {
                            return Err(format!(
                                "agreement reached at {at:?} broke: {}",
                                self.check_agreement().err().unwrap_or_default()
                            ));
                        }
                        if self.now >= at + WATCH {
                            self.check_agreement()?;
                            return Ok(self.outcome);
                        }
                    }
                }
            }
            let Some(((at, _), event)) = self.queue.pop_first() else {
                return Err("the event queue ran dry".into());
            };
            self.now = at;
            self.outcome.events += 1;
            if self.now >= self.faults_end && settled_at.is_none() {
                settle_steps += 1;
                if settle_steps > SETTLE_STEPS || self.now > self.faults_end + SETTLE_BOUND {
                    return Err(format!(
                        "no agreement {:?} and {settle_steps} events after the faults stopped: {}",
                        self.now - self.faults_end,
                        self.check_agreement().err().unwrap_or_default()
                    ));
                }
            }
            self.step(event)?;
        }
    }

    fn step(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Deliver {
                to,
                from,
                msg,
                heartbeat,
            } => {
                if !heartbeat {
                    self.election_messages -= 1;
                }
                if self.is_live(to) {
                    let kind = if heartbeat { " (heartbeat)" } else { "" };
                    note!(self, ("{from} -> {to}: {msg:?}{kind}"));
                    self.input(to, Input::Message { from, msg })?;
                    if self
                        .peer(to)
                        .and_then(Bully::leader)
                        .is_some_and(|(l, _)| *l == from)
                    {
                        self.missed.remove(&to);
                    }
                }
            }
            Event::Fire { peer, timer, token } => {
                if self.timers.get(&(peer, timer)) == Some(&token) {
                    self.timers.remove(&(peer, timer));
                    note!(self, ("{peer}: timer {timer:?} fired"));
                    self.input(peer, Input::Timer(timer))?;
                }
            }
            Event::Heartbeat => {
                self.check_safety()?;
                self.heartbeat()?;
                self.schedule(HEARTBEAT, Event::Heartbeat);
            }
            Event::Fault => {
                if self.now < self.faults_end {
                    self.fault()?;
                    let gap = Duration::from_millis(self.rng.random_range(20..=400));
                    self.schedule(gap, Event::Fault);
                }
            }
        }
        Ok(())
    }

    fn fault(&mut self) -> Result<(), String> {
        let id = self.ids[self.rng.random_range(0..self.ids.len())];
        let live = self.live().count();
        match self.rng.random_range(0..10) {
            0..=2 if self.is_live(id) && live > 1 => self.crash(id),
            0..=4 if !self.is_live(id) => self.restart(id)?,
            5 => {
                let leaders: Vec<Id> = self.live().filter(|id| self.leads(*id)).collect();
                for leader in leaders {
                    note!(self, ("{leader}: resigns"));
                    self.input(leader, Input::Resign)?;
                }
            }
            6 if self.is_live(id) => {
                note!(self, ("{id}: wrongly suspects its leader"));
                self.input(id, Input::LeaderLost)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn crash(&mut self, id: Id) {
        note!(self, ("{id}: crashes"));
        self.outcome.crashes += 1;
        self.peers.insert(id, None);
        self.timers.retain(|(peer, _), _| *peer != id);
        self.missed.remove(&id);
    }

    fn restart(&mut self, id: Id) -> Result<(), String> {
        note!(self, ("{id}: starts"));
        let others = self.ids.iter().copied().filter(|other| *other != id);
        self.peers
            .insert(id, Some(Bully::new(id, others, self.config)));
        self.passed_over.remove(&id);
        self.input(id, Input::Start)
    }

    /// One heartbeat period of the application: leaders announce
    /// themselves; followers count the periods their leader was silent.
    fn heartbeat(&mut self) -> Result<(), String> {
        for id in self.live().collect::<Vec<_>>() {
            let Some(peer) = self.peer(id) else { continue };
            if let Some(msg) = peer.announcement() {
                for i in 0..self.ids.len() {
                    let to = self.ids[i];
                    if to != id {
                        self.send(id, to, msg, true);
                    }
                }
            } else if peer.leader().is_some() {
                let missed = self.missed.entry(id).or_default();
                *missed += 1;
                if *missed >= MISSED_HEARTBEATS {
                    self.missed.remove(&id);
                    note!(self, ("{id}: leader lost"));
                    self.input(id, Input::LeaderLost)?;
                }
            } else {
                self.missed.remove(&id);
            }
        }
        Ok(())
    }

    /// Feeds `input` to `id` and performs what it asks.
    fn input(&mut self, id: Id, input: Input<Id>) -> Result<(), String> {
        let Some(bully) = self.peers.get_mut(&id).and_then(Option::as_mut) else {
            return Ok(());
        };
        let epoch_before = bully.epoch();
        let was_resigned = bully.is_resigned();
        let actions = bully.handle(input);
        let epoch_after = bully.epoch();
        let resigned = bully.is_resigned();
        if epoch_after < epoch_before {
            return Err(format!(
                "peer {id}'s epoch went back from {epoch_before} to {epoch_after}"
            ));
        }
        if resigned && !was_resigned {
            self.passed_over.insert(id);
        }
        for action in actions {
            self.perform(id, epoch_before, action)?;
        }
        Ok(())
    }

    fn perform(&mut self, id: Id, epoch_before: Epoch, action: Action<Id>) -> Result<(), String> {
        match action {
            Action::Send { to, msg } => self.send(id, to, msg, false),
            Action::SetTimer { timer, after } => {
                let token = self.seq;
                self.timers.insert((id, timer), token);
                self.schedule(
                    after,
                    Event::Fire {
                        peer: id,
                        timer,
                        token,
                    },
                );
            }
            Action::CancelTimer(timer) => {
                self.timers.remove(&(id, timer));
            }
            Action::BecameLeader { epoch } => {
                self.leadership_changes += 1;
                note!(self, ("{id}: leads epoch {epoch}"));
                self.outcome.claims += 1;
                if epoch <= epoch_before {
                    return Err(format!(
                        "peer {id} claimed epoch {epoch}, not above the {epoch_before} it had seen"
                    ));
                }
                self.passed_over.remove(&id);
                let claimants = self.claimants.entry(epoch).or_default();
                claimants.insert(id);
                if claimants.len() > 1 {
                    return Err(format!("epoch {epoch} has two leaders: {claimants:?}"));
                }
            }
            Action::ElectionStarted { epoch } => {
                note!(self, ("{id}: starts an election past {epoch}"));
            }
            Action::SteppedDown { epoch } => {
                self.leadership_changes += 1;
                note!(self, ("{id}: steps down from {epoch}"));
            }
            Action::LeaderIs { leader, epoch } => {
                self.leadership_changes += 1;
                note!(self, ("{id}: follows {leader} in {epoch}"));
            }
            Action::LeaderGone { leader, epoch } => {
                self.leadership_changes += 1;
                note!(self, ("{id}: forgets {leader} of {epoch}"));
            }
            Action::Refused {
                from,
                epoch,
                reason,
            } => {
                // Honest peers never send an epoch worth refusing.
                return Err(format!(
                    "peer {id} refused epoch {epoch} from {from}: {reason}"
                ));
            }
        }
        Ok(())
    }

    fn send(&mut self, from: Id, to: Id, msg: Message, heartbeat: bool) {
        let faulty = self.now < self.faults_end;
        if faulty && self.rng.random_bool(self.drop_chance) {
            note!(self, ("{from} -> {to}: {msg:?} (lost)"));
            return;
        }
        let max = if faulty {
            self.max_faulty_delay
        } else {
            self.max_calm_delay
        };
        let delay = Duration::from_micros(self.rng.random_range(100..=max.as_micros() as u64));
        if !heartbeat {
            self.election_messages += 1;
        }
        self.schedule(
            delay,
            Event::Deliver {
                to,
                from,
                msg,
                heartbeat,
            },
        );
    }

    fn schedule(&mut self, after: Duration, event: Event) {
        self.seq += 1;
        self.queue.insert((self.now + after, self.seq), event);
    }

    /// No election traffic: no timer pending, no message in flight but
    /// heartbeats.
    fn is_quiet(&self) -> bool {
        self.timers.is_empty() && self.election_messages == 0
    }

    /// At most one live leader per epoch, at every heartbeat (every claim is
    /// checked against all earlier ones as it happens, too).
    fn check_safety(&self) -> Result<(), String> {
        let mut leaders = BTreeMap::new();
        for id in self.live().filter(|id| self.leads(*id)) {
            let epoch = self.peer(id).map(Bully::epoch).unwrap_or_default();
            if let Some(other) = leaders.insert(epoch, id) {
                return Err(format!("peers {other} and {id} both lead epoch {epoch}"));
            }
        }
        Ok(())
    }

    /// Every live peer follows the highest live peer that was not passed
    /// over, in one epoch no lower than any a live peer has seen.
    fn check_agreement(&self) -> Result<(), String> {
        let expected = self
            .live()
            .filter(|id| !self.passed_over.contains(id))
            .max();
        let views: Vec<View> = self
            .live()
            .map(|id| {
                let peer = self.peer(id).expect("live");
                (id, peer.leader().map(|(l, e)| (*l, e)), peer.epoch())
            })
            .collect();
        let Some(expected) = expected else {
            return if views.iter().all(|(_, leader, _)| leader.is_none()) {
                Ok(())
            } else {
                Err(format!(
                    "every live peer resigned, yet some follow a leader: {views:?}"
                ))
            };
        };
        let Some((_, Some((_, epoch)), _)) = views.iter().find(|(id, _, _)| *id == expected) else {
            return Err(format!("peer {expected} should lead: {views:?}"));
        };
        for (id, leader, seen) in &views {
            if *leader != Some((expected, *epoch)) || seen > epoch {
                return Err(format!(
                    "peer {id} disagrees: expected {expected} in {epoch}; views {views:?}"
                ));
            }
        }
        Ok(())
    }

    fn live(&self) -> impl Iterator<Item = Id> + '_ {
        self.peers
            .iter()
            .filter(|(_, peer)| peer.is_some())
            .map(|(id, _)| *id)
    }

    fn is_live(&self, id: Id) -> bool {
        self.peer(id).is_some()
    }

    fn leads(&self, id: Id) -> bool {
        self.peer(id).is_some_and(Bully::is_leader)
    }

    fn peer(&self, id: Id) -> Option<&Bully<Id>> {
        self.peers.get(&id).and_then(Option::as_ref)
    }

    fn note(&mut self, line: std::fmt::Arguments<'_>) {
        let line = format!("{:>9.3?} {line}", self.now);
        if self.verbose {
            println!("{line}");
        }
        if self.trace.len() >= 4 * TRACE_TAIL {
            self.trace.drain(..2 * TRACE_TAIL);
        }
        self.trace.push(line);
    }
}
