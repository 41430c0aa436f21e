//! What the page's controls do to the demo's market: crash the trader,
//! bring a crashed peer back, split the market in two and heal it.

use bazaar_protocol::PeerId;

use super::Running;
use crate::web::{Control, Outcome};

impl Running {
    /// Performs `control` at once, and says what it did.
    pub(super) async fn obey(&mut self, control: Control) -> Outcome {
        match control {
            Control::KillTrader => self.kill_trader().await,
            Control::Restart(peer) => self.restart(PeerId(peer)).await,
            Control::Partition => self.split_or_heal(),
        }
    }

    async fn kill_trader(&mut self) -> Outcome {
        // The page's trader: the one the visitor sees (none after it
        // resigned or died, while the next election is on).
        let trader = self
            .web
            .trader()
            .map(PeerId)
            .filter(|id| self.market.live().any(|live| live == *id))
            .ok_or("no trader to kill: an election is on")?;
        self.crash(trader).await;
        tracing::warn!("killed trader {trader} from the web page (no goodbye)");
        Ok(format!("crashed trader {trader}"))
    }

    async fn restart(&mut self, peer: PeerId) -> Outcome {
        if peer.0 == 0 || peer > self.highest {
            return Err(format!("there is no peer {peer}"));
        }
        if self.market.live().any(|live| live == peer) {
            return Err(format!("peer {peer} is running"));
        }
        self.market
            .restart(peer)
            .await
            .map_err(|e| format!("cannot restart peer {peer}: {e}"))?;
        self.web.set_alive(peer.0, true);
        tracing::warn!("restarted peer {peer} from the web page");
        Ok(format!("restarted peer {peer}"))
    }

    /// Splits the peers into a lower and a higher half, or heals the split.
    fn split_or_heal(&mut self) -> Outcome {
        let hub = self
            .market
            .hub()
            .ok_or("only a market over the mem transport can be split")?;
        if self.partitioned {
            hub.heal();
            self.partitioned = false;
            self.web.set_partition(None);
            tracing::warn!("healed the split from the web page");
            return Ok("healed the split".into());
        }
        let middle = self.highest.0 / 2;
        let sides = [
            (1..=middle).collect(),
            (middle + 1..=self.highest.0).collect(),
        ];
        let ids = |side: &Vec<u32>| side.iter().copied().map(PeerId).collect::<Vec<_>>();
        hub.partition([ids(&sides[0]), ids(&sides[1])]);
        self.partitioned = true;
        let said = format!(
            "split the market: peers 1-{middle} | peers {}-{}",
            middle + 1,
            self.highest
        );
        tracing::warn!("{said} (from the web page)");
        self.web.set_partition(Some(sides));
        Ok(said)
    }
}
