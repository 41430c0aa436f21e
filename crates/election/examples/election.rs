//! An election among N in-process peers (default 5), no market: start-up,
//! the leader's death and the takeover, then the dead leader's return.
//!
//! `cargo run -p bazaar-election --example election [N]`
//!
//! The driver is a tiny deterministic loop: one queue of messages and timers
//! ordered by simulated time, every message taking 10 ms. It prints every
//! message as it is sent, every election as it starts and every change of
//! leadership as it happens.

use std::collections::BTreeMap;
use std::time::Duration;

use bazaar_election::{Action, Bully, Config, Input, Message};

const DELAY: Duration = Duration::from_millis(10);

enum Event {
    Deliver {
        from: u32,
        to: u32,
        msg: Message,
    },
    Fire {
        peer: u32,
        timer: bazaar_election::Timer,
    },
}

struct Cluster {
    peers: BTreeMap<u32, Option<Bully<u32>>>,
    queue: BTreeMap<(Duration, u64), Event>,
    timers: BTreeMap<(u32, bazaar_election::Timer), u64>,
    now: Duration,
    seq: u64,
}

impl Cluster {
    fn new(count: u32) -> Self {
        Self {
            peers: (1..=count).map(|id| (id, None)).collect(),
            queue: BTreeMap::new(),
            timers: BTreeMap::new(),
            now: Duration::ZERO,
            seq: 0,
        }
    }

    fn say(&self, what: &str) {
        println!("[{:>5} ms] {what}", self.now.as_millis());
    }

    fn start(&mut self, id: u32) {
        let ids: Vec<u32> = self.peers.keys().copied().collect();
        self.peers
            .insert(id, Some(Bully::new(id, ids, Config::default())));
        self.say(&format!("peer {id} starts"));
        self.input(id, Input::Start);
    }

    fn crash(&mut self, id: u32) {
        self.say(&format!("peer {id} dies"));
        self.peers.insert(id, None);
        self.timers.retain(|(peer, _), _| *peer != id);
    }

    fn input(&mut self, id: u32, input: Input<u32>) {
        let Some(Some(peer)) = self.peers.get_mut(&id) else {
            return;
        };
        for action in peer.handle(input) {
            self.seq += 1;
            match action {
                Action::Send { to, msg } => {
                    self.say(&format!("  {id} -> {to}  {msg:?}"));
                    let at = (self.now + DELAY, self.seq);
                    self.queue.insert(at, Event::Deliver { from: id, to, msg });
                }
                Action::SetTimer { timer, after } => {
                    self.timers.insert((id, timer), self.seq);
                    let at = (self.now + after, self.seq);
                    self.queue.insert(at, Event::Fire { peer: id, timer });
                }
                Action::CancelTimer(timer) => {
                    self.timers.remove(&(id, timer));
                }
                Action::ElectionStarted { epoch } => {
                    self.say(&format!("peer {id} starts an election past epoch {epoch}"));
                }
                Action::BecameLeader { epoch } => {
                    self.say(&format!("peer {id} leads, epoch {epoch}"));
                }
                Action::SteppedDown { epoch } => {
                    self.say(&format!("peer {id} steps down from epoch {epoch}"));
                }
                Action::LeaderIs { leader, epoch } => {
                    self.say(&format!("peer {id} follows peer {leader}, epoch {epoch}"));
                }
                Action::LeaderGone { leader, epoch } => {
                    self.say(&format!("peer {id} forgets peer {leader} of epoch {epoch}"));
                }
                Action::Refused {
                    from,
                    epoch,
                    reason,
                } => {
                    self.say(&format!(
                        "peer {id} refuses epoch {epoch} from peer {from}: {reason}"
                    ));
                }
            }
        }
    }

    /// Delivers messages and fires timers until nothing is left.
    fn run_until_quiet(&mut self) {
        while let Some(((at, seq), event)) = self.queue.pop_first() {
            self.now = at;
            match event {
                Event::Deliver { from, to, msg } => {
                    if self.peers.get(&to).is_some_and(Option::is_some) {
                        self.input(to, Input::Message { from, msg });
                    }
                }
                Event::Fire { peer, timer } => {
                    // A cancelled or replaced timer is not ours any more.
                    if self.timers.get(&(peer, timer)) == Some(&seq) {
                        self.timers.remove(&(peer, timer));
                        self.say(&format!("peer {peer}: {timer:?} timer fires"));
                        self.input(peer, Input::Timer(timer));
                    }
                }
            }
        }
    }

    /// The application's heartbeats: a follower whose leader is dead notices.
    fn notice_dead_leader(&mut self) {
        let followers: Vec<u32> = self
            .peers
            .iter()
            .filter_map(|(id, peer)| {
                let (leader, _) = peer.as_ref()?.leader()?;
                let dead = self.peers.get(leader).is_none_or(Option::is_none);
                dead.then_some(*id)
            })
            .collect();
        for id in followers {
            self.say(&format!("peer {id} misses its leader's heartbeats"));
            self.input(id, Input::LeaderLost);
        }
    }

    fn pause(&mut self, gap: Duration) {
        self.now += gap;
    }

    fn summary(&self) {
        for (id, peer) in &self.peers {
            match peer.as_ref().map(Bully::leader) {
                None => println!("    peer {id}: dead"),
                Some(None) => println!("    peer {id}: no leader"),
                Some(Some((leader, epoch))) => {
                    println!("    peer {id}: leader {leader}, epoch {epoch}");
                }
            }
        }
    }
}

fn main() {
    let count: u32 = match std::env::args().nth(1).map(|arg| arg.parse()) {
        None => 5,
        Some(Ok(count)) if count >= 2 => count,
        Some(_) => {
            eprintln!("usage: election [N], N >= 2 peers (default 5)");
            std::process::exit(2);
        }
    };
    let mut cluster = Cluster::new(count);

    println!("== start-up: {count} peers");
    for id in 1..=count {
        cluster.start(id);
    }
    cluster.run_until_quiet();
    cluster.summary();

    println!("\n== peer {count}, the leader, dies");
    cluster.pause(Duration::from_millis(500));
    cluster.crash(count);
    cluster.pause(Duration::from_millis(300));
    cluster.notice_dead_leader();
    cluster.run_until_quiet();
    cluster.summary();

    println!("\n== peer {count} comes back, remembering nothing, and bullies its way back");
    cluster.pause(Duration::from_millis(500));
    cluster.start(count);
    cluster.run_until_quiet();
    cluster.summary();
}
