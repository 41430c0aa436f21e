//! The operator's faults: crashes, restarts, partitions, heals and
//! resignations, drawn at random moments while faults are on.

use std::time::Duration;

use rand::Rng;

use super::{Due, World, invariants::StormWatch};
use crate::sim::{check::Broken, network::chance, trace::What};

/// One kind of fault the world can draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// A live peer dies (its store survives).
    Crash,
    /// A dead peer starts again.
    Restart,
    /// The peers split into two sides that cannot talk.
    Partition,
    /// The partition ends.
    Heal,
    /// Every trader is told to resign.
    Resign,
}

impl World {
    /// One fault at random, then the next one scheduled.
    pub(super) fn fault(&mut self) -> Result<(), Broken> {
        if self.calm {
            return Ok(());
        }
        let next = self.now + self.fault_gap();
        self.schedule(next, Due::Fault);
        let Some(fault) = self.draw_fault() else {
            return Ok(());
        };
        // Only a heal starts a quiet moment to count announcements from;
        // any other fault may cause elections of its own.
        self.storm = None;
        match fault {
            Fault::Crash => {
                let live = self.ids(true);
                let peer = live[self.rng.random_range(0..live.len())];
                self.crash(peer);
            }
            Fault::Restart => {
                let dead = self.ids(false);
                let peer = dead[self.rng.random_range(0..dead.len())];
                self.restart(peer)?;
            }
            Fault::Partition => {
                let all: Vec<_> = self.nodes.iter().map(|n| n.config.id).collect();
                if let Some(side) = self.network.partition(&mut self.rng, &all) {
                    self.tally.partitions += 1;
                    self.tally.opens_in_this_partition = 0;
                    let side: Vec<String> = side.iter().map(ToString::to_string).collect();
                    self.world(format!(
                        "partition: peers {} apart from the rest",
                        side.join(",")
                    ));
                }
            }
            Fault::Heal => {
                self.network.heal();
                self.storm = StormWatch::from(self.now, &self.faults, true);
                self.world("the partition heals".into());
            }
            Fault::Resign => {
                for peer in self.ids(true) {
                    let trading = self
                        .node(peer)
                        .driver
                        .as_ref()
                        .is_some_and(|d| d.peer().is_trading());
                    if trading {
                        self.tally.resignations += 1;
                        self.feed(peer, |driver, now| {
                            driver.handle_resign(now);
                            What::Resign
                        })?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A kind of fault the profile allows and the world admits now: a
    /// crash needs two live peers, a restart a dead one.
    fn draw_fault(&mut self) -> Option<Fault> {
        let faults = self.faults;
        let (live, dead) = (self.ids(true).len(), self.ids(false).len());
        let mut kinds = Vec::new();
        if faults.crashes && live > 1 {
            kinds.extend([Fault::Crash, Fault::Crash]);
        }
        if faults.crashes && dead > 0 {
            kinds.extend([Fault::Restart, Fault::Restart]);
        }
        if faults.partitions {
            kinds.push(if self.network.is_partitioned() {
                Fault::Heal
            } else {
                Fault::Partition
            });
        }
        if faults.resignations {
            kinds.push(Fault::Resign);
        }
        (!kinds.is_empty()).then(|| kinds[self.rng.random_range(0..kinds.len())])
    }

    pub(super) fn fault_gap(&mut self) -> Duration {
        let every = self.faults.every.as_micros().max(2);
        let micros = self.rng.random_range(every / 2..=every * 3 / 2);
        Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    fn restart(&mut self, peer: bazaar_protocol::PeerId) -> Result<(), Broken> {
        self.tally.restarts += 1;
        self.boot(peer)
    }

    /// The faults stop: the partition heals, loss and duplication end, and
    /// each dead peer restarts or stays dead, at random.
    pub(super) fn calm_down(&mut self) -> Result<(), Broken> {
        self.calm = true;
        self.storm = None;
        self.network.heal();
        self.network.calm();
        self.world("faults stop".into());
        for peer in self.ids(false) {
            if chance(&mut self.rng, 0.5) {
                self.restart(peer)?;
            }
        }
        Ok(())
    }
}
