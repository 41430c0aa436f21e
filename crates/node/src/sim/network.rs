//! The simulated network: which messages arrive, when, and how often.
//!
//! It decides a message's fate only; the world schedules the deliveries.
//! Loss and duplication stop once the network is calm; partitions last
//! until healed.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use bazaar_protocol::PeerId;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::Faults;

/// What happens to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Dropped by a lossy link.
    Lost,
    /// Dropped because sender and recipient are on two sides of a
    /// partition.
    Cut,
    /// Delivered at each of these moments (twice if duplicated).
    Arrives {
        /// When each copy arrives.
        at: Vec<Duration>,
        /// Whether this frame set a connection up first.
        handshake: bool,
    },
}

/// Links between peers, with the fault model.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    faults: Faults,
    /// One side of the partition, if any; the rest is the other side.
    side: Option<BTreeSet<PeerId>>,
    calm: bool,
    /// Each pair's connection, by when it is (or was) set up: the first
    /// frame either way after a (re)start or a heal waits a drawn
    /// handshake, and the frames behind it, both ways, wait too. One
    /// connection carries both directions, as over tcp; over quic a peer
    /// dials back at once when the other's connection arrives, which comes
    /// to the same.
    links: BTreeMap<(PeerId, PeerId), Duration>,
}

impl Network {
    pub(crate) const fn new(faults: Faults) -> Self {
        Self {
            faults,
            side: None,
            calm: false,
            links: BTreeMap::new(),
        }
    }

    /// The fate of a message sent at `now` from `from` to `to`.
    pub(crate) fn route(
        &mut self,
        rng: &mut ChaCha8Rng,
        now: Duration,
        from: PeerId,
        to: PeerId,
    ) -> Fate {
        if !self.connected(from, to) {
            return Fate::Cut;
        }
        let pair = (from.min(to), from.max(to));
        let (ready, handshake) = match self.links.get(&pair) {
            Some(&ready) => (ready, false),
            None => {
                let most = self.faults.handshake.as_micros();
                let took = Duration::from_micros(rng.random_range(0..=most) as u64);
                self.links.insert(pair, now + took);
                (now + took, true)
            }
        };
        if !self.calm && chance(rng, self.faults.loss) {
            return Fate::Lost;
        }
        let copies = if !self.calm && chance(rng, self.faults.duplicate) {
            2
        } else {
            1
        };
        let at = (0..copies)
            .map(|_| now.max(ready) + self.delay(rng))
            .collect();
        Fate::Arrives { at, handshake }
    }

    /// `peer` (re)started or died: its connections are gone both ways.
    pub(crate) fn restarted(&mut self, peer: PeerId) {
        self.links.retain(|&(a, b), _| a != peer && b != peer);
    }

    /// A network delay, uniform between the fault model's bounds.
    pub(crate) fn delay(&self, rng: &mut ChaCha8Rng) -> Duration {
        let (lo, hi) = (
            self.faults.min_delay,
            self.faults.max_delay.max(self.faults.min_delay),
        );
        let micros = rng.random_range(lo.as_micros()..=hi.as_micros());
        Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// Whether `a` and `b` can talk.
    pub(crate) fn connected(&self, a: PeerId, b: PeerId) -> bool {
        self.side
            .as_ref()
            .is_none_or(|side| side.contains(&a) == side.contains(&b))
    }

    /// Splits `peers` into two non-empty sides at random; returns one side.
    /// With fewer than two peers there is nothing to split.
    pub(crate) fn partition(
        &mut self,
        rng: &mut ChaCha8Rng,
        peers: &[PeerId],
    ) -> Option<BTreeSet<PeerId>> {
        if peers.len() < 2 {
            return None;
        }
        let mut side = BTreeSet::new();
        while side.is_empty() || side.len() == peers.len() {
            side = peers
                .iter()
                .copied()
                .filter(|_| rng.random_bool(0.5))
                .collect();
        }
        self.side = Some(side.clone());
        Some(side)
    }

    /// Ends the partition, if any: the connections across it timed out
    /// meanwhile, and are set up again.
    pub(crate) fn heal(&mut self) {
        if let Some(side) = self.side.take() {
            self.links
                .retain(|(a, b), _| side.contains(a) == side.contains(b));
        }
    }

    /// Whether a partition is on.
    pub(crate) const fn is_partitioned(&self) -> bool {
        self.side.is_some()
    }

    /// Stops loss and duplication for good (delays stay).
    pub(crate) const fn calm(&mut self) {
        self.calm = true;
    }
}

/// True with probability `p` (clamped to 0..=1).
pub(crate) fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    p > 0.0 && rng.random_bool(p.min(1.0))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(7)
    }

    #[test]
    fn a_lossless_network_delivers_once_within_the_delay_bounds() {
        let mut net = Network::new(Faults::NONE);
        let mut rng = rng();
        for _ in 0..200 {
            let Fate::Arrives { at: delays, .. } =
                net.route(&mut rng, Duration::ZERO, PeerId(1), PeerId(2))
            else {
                panic!("a perfect network lost a message");
            };
            assert_eq!(delays.len(), 1);
            assert!((Faults::NONE.min_delay..=Faults::NONE.max_delay).contains(&delays[0]));
        }
    }

    #[test]
    fn loss_and_duplication_happen_at_about_their_rates_until_calm() {
        let faults = Faults {
            loss: 0.2,
            duplicate: 0.1,
            ..Faults::NONE
        };
        let mut net = Network::new(faults);
        let mut rng = rng();
        let fates: Vec<Fate> = (0..5000)
            .map(|_| net.route(&mut rng, Duration::ZERO, PeerId(1), PeerId(2)))
            .collect();
        let lost = fates.iter().filter(|f| **f == Fate::Lost).count();
        let twice = fates
            .iter()
            .filter(|f| matches!(f, Fate::Arrives { at, .. } if at.len() == 2))
            .count();
        assert!((800..1200).contains(&lost), "lost {lost} of 5000");
        assert!((280..520).contains(&twice), "duplicated {twice} of 5000");
        net.calm();
        assert!((0..1000).all(|_| matches!(
            net.route(&mut rng, Duration::ZERO, PeerId(1), PeerId(2)),
            Fate::Arrives { at, .. } if at.len() == 1
        )));
    }

    #[test]
    fn a_partition_cuts_across_sides_only_until_healed() {
        let mut net = Network::new(Faults::NONE);
        let mut rng = rng();
        let peers: Vec<PeerId> = (1..=5).map(PeerId).collect();
        let side = net.partition(&mut rng, &peers).unwrap();
        assert!(!side.is_empty() && side.len() < peers.len());
        for &a in &peers {
            for &b in &peers {
                let same = side.contains(&a) == side.contains(&b);
                let fate = net.route(&mut rng, Duration::ZERO, a, b);
                assert_eq!(same, fate != Fate::Cut, "{a} -> {b}: {fate:?}");
            }
        }
        net.heal();
        assert!(!net.is_partitioned());
        assert!(peers.iter().all(|&a| net.connected(a, PeerId(1))));
    }

    fn arrival(net: &mut Network, rng: &mut ChaCha8Rng, ms: u64, from: u32, to: u32) -> Fate {
        net.route(rng, Duration::from_millis(ms), PeerId(from), PeerId(to))
    }

    #[test]
    fn the_first_frame_either_way_waits_the_handshake_and_a_restart_sets_up_again() {
        // Every delay exactly a millisecond, so that arrivals tell when the
        // connection came up.
        let faults = Faults {
            handshake: Duration::from_millis(400),
            max_delay: Faults::NONE.min_delay,
            ..Faults::NONE
        };
        let mut net = Network::new(faults);
        let mut rng = rng();
        let Fate::Arrives { at, handshake } = arrival(&mut net, &mut rng, 0, 1, 2) else {
            panic!("a lossless network lost a frame");
        };
        assert!(handshake);
        let ready = at[0] - faults.min_delay;
        // The other direction rides the same connection: no new handshake,
        // and nothing arrives before the connection is up.
        let Fate::Arrives { at, handshake } = arrival(&mut net, &mut rng, 1, 2, 1) else {
            panic!("lost");
        };
        assert!(!handshake);
        assert!(at[0] >= ready.max(Duration::from_millis(1)) + faults.min_delay);
        net.restarted(PeerId(2));
        let Fate::Arrives { handshake, .. } = arrival(&mut net, &mut rng, 900, 1, 2) else {
            panic!("lost");
        };
        assert!(handshake, "a restarted peer's connections are set up again");
    }
}
