//! Store calls in flight: each runs after a drawn delay (what it writes
//! lands then) and answers its peer later still, in any order, while the
//! peer takes other inputs. The store's faults and the planted store-call
//! bugs live here.

use std::time::Duration;

use bazaar_market::{Batch, Book};
use bazaar_protocol::{Epoch, PeerId};
use rand::Rng;

use super::{Due, World};
use crate::{
    CallId, Incarnation, StoreCall, Stored,
    sim::{Plant, Violation, check, check::Broken, network::chance, trace::What},
    store::{Store, StoreError},
};

/// A store call on its way to the store.
#[derive(Debug)]
pub(super) struct RunningCall {
    peer: PeerId,
    incarnation: Incarnation,
    call: CallId,
    what: StoreCall,
    /// Whether its answer goes back (not when it was acknowledged early,
    /// under [`Plant::ReplyBeforeCommit`]).
    answers: bool,
    /// Under [`Plant::BooksReadBeforeFence`]: the books as they stood when
    /// the load was asked for.
    read_early: Option<Book>,
}

impl World {
    /// Starts the store calls `peer`'s driver asks for.
    pub(super) fn start_calls(&mut self, peer: PeerId) -> Result<(), Broken> {
        loop {
            let node = self.node_mut(peer);
            let incarnation = node.incarnation;
            let Some((call, what)) = node.driver.as_mut().and_then(|d| d.poll_store()) else {
                return Ok(());
            };
            node.calls.insert(call);
            self.tally.store_calls += 1;
            let mut answers = true;
            let mut read_early = None;
            match (&what, self.options.plant) {
                (StoreCall::Commit { batch, .. }, plant) => {
                    check::asked(batch, &self.asked)?;
                    if plant == Some(Plant::ReplyBeforeCommit) {
                        answers = false;
                        let answer = Ok(Stored::Done);
                        let due = Due::Answer {
                            peer,
                            incarnation,
                            call,
                            answer,
                        };
                        self.schedule(self.now, due);
                    }
                }
                (StoreCall::Open { .. }, Some(Plant::BooksReadBeforeFence)) => {
                    read_early = self.store.books().ok().flatten();
                }
                _ => {}
            }
            let delay = self.store_delay(1, 2);
            let running = RunningCall {
                peer,
                incarnation,
                call,
                what,
                answers,
                read_early,
            };
            self.schedule(self.now + delay, Due::Run(Box::new(running)));
        }
    }

    /// A store delay drawn between `lo` and `hi` halves of the profile's.
    fn store_delay(&mut self, lo: u32, hi: u32) -> Duration {
        let half = self.faults.commit_delay.as_micros() / 2;
        let micros = self
            .rng
            .random_range(half * u128::from(lo)..=half * u128::from(hi) + 1);
        Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// The store runs a call. A call of a peer that crashed meanwhile runs
    /// anyway or not at all (a commit may have reached the database before
    /// its process died); its answer is lost either way.
    pub(super) fn run_call(&mut self, running: Box<RunningCall>) -> Result<(), Broken> {
        let RunningCall {
            peer,
            incarnation,
            call,
            what,
            answers,
            read_early,
        } = *running;
        let node = self.node(peer);
        if node.incarnation != incarnation || node.driver.is_none() {
            if let StoreCall::Commit { epoch, batch } = &what
                && self.rng.random_bool(0.5)
            {
                let landed = self.commit(peer, incarnation, *epoch, batch)?;
                let how = if landed.is_ok() {
                    "lands"
                } else {
                    "is refused"
                };
                self.world(format!(
                    "the commit of a dead incarnation of peer {peer} {how}"
                ));
            }
            return Ok(());
        }
        let answer = match &what {
            StoreCall::Open { claim, pricing } => match self.dead_connection() {
                Some(e) => Err(e),
                None => {
                    let opened = self.store_of(peer, incarnation).open(*claim, pricing);
                    if opened.is_ok() && self.network.is_partitioned() {
                        let t = &mut self.tally;
                        t.opens_in_this_partition += 1;
                        t.most_opens_in_a_partition =
                            t.most_opens_in_a_partition.max(t.opens_in_this_partition);
                    }
                    opened.map(|book| Stored::Books(Box::new(read_early.unwrap_or(book))))
                }
            },
            StoreCall::Reload { epoch } => match self.dead_connection() {
                Some(e) => Err(e),
                None => self
                    .store_of(peer, incarnation)
                    .reload(*epoch)
                    .map(|b| Stored::Books(Box::new(b))),
            },
            StoreCall::Renew { epoch, lease } => match self.dead_connection() {
                Some(e) => Err(e),
                None => self
                    .store_of(peer, incarnation)
                    .renew(*epoch, *lease)
                    .map(|()| Stored::Done),
            },
            StoreCall::Commit { epoch, batch } => self.commit(peer, incarnation, *epoch, batch)?,
        };
        if let Err(e @ (StoreError::Corrupt { .. } | StoreError::Rejected(_))) = &answer {
            return Err(Violation::Store {
                peer: Some(peer),
                detail: format!("{} failed: {e}", kind(&what)),
            });
        }
        if answers {
            let at = self.now + self.store_delay(0, 1);
            let due = Due::Answer {
                peer,
                incarnation,
                call,
                answer,
            };
            self.schedule(at, due);
        }
        Ok(())
    }

    /// The store takes (or refuses) a commit. A store fault kills the
    /// connection before the commit (nothing written) or after it (the
    /// batch landed); either way the trader is told the outcome is unknown,
    /// or, under [`Plant::UnknownOutcomeIsSuccess`], that it succeeded.
    fn commit(
        &mut self,
        peer: PeerId,
        incarnation: Incarnation,
        epoch: Epoch,
        batch: &Batch,
    ) -> Result<Result<Stored, StoreError>, Broken> {
        let newest = self.store.epoch().map_err(store_violation)?;
        let fault = !self.calm && chance(&mut self.rng, self.faults.store_failures);
        if fault && self.rng.random_bool(0.5) {
            return Ok(self.unknown_outcome(peer, false));
        }
        match self.store_of(peer, incarnation).commit(epoch, batch) {
            Ok(()) => {
                self.tally.commits += 1;
                check::fenced(peer, epoch, newest, &mut self.owners)?;
                self.accepted.add(batch)?;
                self.refresh_books()?;
                if fault {
                    return Ok(self.unknown_outcome(peer, true));
                }
                Ok(Ok(Stored::Done))
            }
            Err(e @ StoreError::Fenced { .. }) => Ok(Err(e)),
            Err(StoreError::Rejected(e)) => Err(Violation::BatchRejected {
                peer,
                epoch,
                detail: e.to_string(),
            }),
            Err(e) => Err(Violation::Store {
                peer: Some(peer),
                detail: format!("commit at epoch {epoch}: {e}"),
            }),
        }
    }

    fn unknown_outcome(&mut self, peer: PeerId, landed: bool) -> Result<Stored, StoreError> {
        self.tally.store_failures += 1;
        self.storm = None;
        let how = if landed { "landed" } else { "wrote nothing" };
        self.world(format!("the store fails a commit of peer {peer}: it {how}"));
        if self.options.plant == Some(Plant::UnknownOutcomeIsSuccess) {
            return Ok(Stored::Done);
        }
        Err(lost_connection())
    }

    /// Draws a store fault for a load or a renewal (unless the world is
    /// calm): the connection dies before anything is read or written.
    fn dead_connection(&mut self) -> Option<StoreError> {
        if self.calm || !chance(&mut self.rng, self.faults.store_failures) {
            return None;
        }
        self.tally.store_failures += 1;
        self.storm = None;
        Some(lost_connection())
    }

    /// A store call's answer reaches its peer, unless the peer died since.
    pub(super) fn answer(
        &mut self,
        peer: PeerId,
        incarnation: Incarnation,
        call: CallId,
        answer: Result<Stored, StoreError>,
    ) -> Result<(), Broken> {
        let crossing = self.options.plant == Some(Plant::AnswersCrossed);
        let node = self.node_mut(peer);
        if node.incarnation != incarnation || node.driver.is_none() {
            return Ok(());
        }
        node.calls.remove(&call);
        let to = match node.crossed.remove(&call) {
            Some(other) => other,
            None => match node.calls.first().copied() {
                Some(other) if crossing => {
                    node.crossed.insert(other, call);
                    other
                }
                _ => call,
            },
        };
        let result = answer.as_ref().map(drop).map_err(ToString::to_string);
        self.feed(peer, |driver, now| {
            driver.handle_stored(now, to, answer);
            What::Stored { call: to, result }
        })
    }

    /// The store an incarnation of a peer calls: its own over the shared
    /// tables (made at its first call, as a process opens its store), or
    /// the one store the peers share.
    fn store_of(&mut self, peer: PeerId, incarnation: Incarnation) -> &dyn Store {
        let Some(tables) = &self.tables else {
            return self.store.as_ref();
        };
        let store = self
            .stores
            .entry((peer, incarnation))
            .or_insert_with(|| Box::new(tables.store()));
        &**store
    }

    pub(super) fn refresh_books(&mut self) -> Result<(), Broken> {
        match self.store.books().map_err(store_violation)? {
            Some(book) => {
                check::books(&book)?;
                self.accepted.matches(&book)?;
                self.book = book;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// A call's name, for the words of a violation.
const fn kind(call: &StoreCall) -> &'static str {
    match call {
        StoreCall::Open { .. } => "open",
        StoreCall::Reload { .. } => "reload",
        StoreCall::Renew { .. } => "renewal",
        StoreCall::Commit { .. } => "commit",
    }
}

fn lost_connection() -> StoreError {
    StoreError::Io {
        path: "simulated store".into(),
        detail: "the connection died".into(),
    }
}

fn store_violation(e: StoreError) -> Violation {
    Violation::Store {
        peer: None,
        detail: e.to_string(),
    }
}
