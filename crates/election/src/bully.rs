//! The bully election machine.

use crate::members::Members;
use crate::{Action, Config, Epoch, Input, Message, Refusal, Timer};

#[cfg(test)]
mod epoch_tests;
#[cfg(test)]
mod tests;

/// Where this peer stands in an election of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
enum Stage {
    /// Not running an election.
    #[default]
    Idle,
    /// Sent `Election` to every higher peer; waiting for an `Alive`.
    AwaitAlive,
    /// A higher peer answered `Alive`; waiting for its `Coordinator`.
    AwaitCoordinator,
}

impl Stage {
    /// The timer that is pending in this stage.
    const fn timer(self) -> Option<Timer> {
        match self {
            Self::Idle => None,
            Self::AwaitAlive => Some(Timer::AwaitAlive),
            Self::AwaitCoordinator => Some(Timer::AwaitCoordinator),
        }
    }
}

/// One peer's bully election with epochs: feed it [`Input`]s through
/// [`handle`](Self::handle) and perform the [`Action`]s it returns.
///
/// The highest live id ends up leading, in an epoch greater than any epoch a
/// live peer has seen; two peers never lead the same epoch. Build every peer
/// with the same membership (`me` plus `peers`): epochs are dealt out by rank
/// in it, so that racing claims never collide.
///
/// No single message can use up the epochs: claims are checked and stop at
/// the last round at or below [`Epoch::MAX`]; a message whose epoch is more
/// than [`Config::max_epoch_lead`] ahead of the highest seen, or above the
/// [`ceiling`](Self::ceiling), is refused ([`Action::Refused`]) and changes
/// nothing. So whatever epochs a peer accepted, it can claim a later one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bully<Id> {
    members: Members<Id>,
    config: Config,
    /// The highest epoch seen in any message or claimed.
    epoch: Epoch,
    leader: Option<(Id, Epoch)>,
    stage: Stage,
    /// Resigned, and abstaining until a new coordinator is announced.
    resigned: bool,
}

impl<Id: Ord + Clone> Bully<Id> {
    /// A peer `me` among `peers` (`me` among them, and duplicates, are
    /// ignored). It knows no epoch and no leader; feed it [`Input::Start`].
    pub fn new(me: Id, peers: impl IntoIterator<Item = Id>, config: Config) -> Self {
        Self {
            members: Members::new(&me, peers),
            config,
            epoch: Epoch::default(),
            leader: None,
            stage: Stage::Idle,
            resigned: false,
        }
    }

    /// Takes one input and returns the actions to perform, in order.
    pub fn handle(&mut self, input: Input<Id>) -> Vec<Action<Id>> {
        let mut out = Vec::new();
        match input {
            Input::Start => {
                self.resigned = false;
                self.start_election(&mut out);
            }
            Input::Message { from, msg } => self.receive(from, msg, &mut out),
            Input::Timer(timer) => self.timer_fired(timer, &mut out),
            Input::LeaderLost => self.leader_lost(&mut out),
            Input::Resign => self.resign(&mut out),
            Input::EpochSeen(epoch) => self.epoch_seen(epoch, &mut out),
        }
        out
    }

    /// This peer's id.
    pub fn me(&self) -> &Id {
        self.members.me()
    }

    /// The other peers, lowest id first.
    pub fn peers(&self) -> impl Iterator<Item = &Id> {
        self.members.others()
    }

    /// The configuration this peer runs with.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The leader this peer knows of, itself included, and its epoch.
    pub fn leader(&self) -> Option<(&Id, Epoch)> {
        self.leader.as_ref().map(|(id, epoch)| (id, *epoch))
    }

    /// Whether this peer leads.
    pub fn is_leader(&self) -> bool {
        self.leader
            .as_ref()
            .is_some_and(|(id, _)| id == self.members.me())
    }

    /// The highest epoch this peer has seen or claimed.
    pub const fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The claim a leader repeats to every peer, inside heartbeats for
    /// instance: a peer that missed the `Coordinator` catches up, and a stale
    /// leader hears of the newer epoch. `None` unless this peer leads.
    pub fn announcement(&self) -> Option<Message> {
        self.is_leader()
            .then_some(Message::Coordinator { epoch: self.epoch })
    }

    /// The highest epoch this peer accepts from others: every member can
    /// still claim a later one. A round below the last epoch anyone claims.
    pub fn ceiling(&self) -> Epoch {
        self.members.ceiling()
    }

    /// Whether this peer runs an election of its own (a timer is pending).
    pub const fn is_electing(&self) -> bool {
        !matches!(self.stage, Stage::Idle)
    }

    /// Whether this peer resigned and abstains until a new coordinator is
    /// announced.
    pub const fn is_resigned(&self) -> bool {
        self.resigned
    }

    fn receive(&mut self, from: Id, msg: Message, out: &mut Vec<Action<Id>>) {
        if !self.members.is_other(&from) {
            return;
        }
        if let Some(reason) = self.implausible(msg.epoch()) {
            out.push(Action::Refused {
                from,
                epoch: msg.epoch(),
                reason,
            });
            return;
        }
        match msg {
            Message::Election { epoch } => self.election_from(from, epoch, out),
            Message::Alive { epoch } => self.alive_from(&from, epoch, out),
            Message::Coordinator { epoch } => self.coordinator_from(from, epoch, out),
            Message::Resign { epoch } => self.resign_from(&from, epoch, out),
        }
    }

    /// Why `epoch`, from a message, cannot be accepted, if it cannot.
    fn implausible(&self, epoch: Epoch) -> Option<Refusal> {
        let max_lead = self.config.max_epoch_lead;
        if epoch.0.saturating_sub(self.epoch.0) > max_lead {
            return Some(Refusal::TooFarAhead {
                seen: self.epoch,
                max_lead,
            });
        }
        let ceiling = self.members.ceiling();
        (epoch > ceiling).then_some(Refusal::AboveCeiling { ceiling })
    }

    /// A lower peer holds an election: answer it, then bully it by holding
    /// our own, unless we abstain.
    ///
    /// A peer that knows a current leader at least as high as itself does not
    /// hold another election: the leader answers the asker with its claim
    /// instead. Otherwise every wave of `Election`s would restart the
    /// elections of all the peers above, and re-elect the same leader over
    /// and over (exponentially often in the number of peers).
    fn election_from(&mut self, from: Id, epoch: Epoch, out: &mut Vec<Action<Id>>) {
        let stepped_down = self.observe(epoch, out);
        if self.resigned {
            return;
        }
        if &from > self.me() {
            // Elections go up; one from above is a confused peer. Still, its
            // newer epoch may have deposed us.
            if stepped_down {
                self.start_election(out);
            }
            return;
        }
        out.push(Action::Send {
            to: from.clone(),
            msg: Message::Alive { epoch: self.epoch },
        });
        match self.current_leader() {
            Some(leader) if leader == self.me() => out.push(Action::Send {
                to: from,
                msg: Message::Coordinator { epoch: self.epoch },
            }),
            Some(leader) if leader > self.me() => {}
            _ => self.start_election(out),
        }
    }

    /// The leader we know, if its epoch is the newest we have seen.
    fn current_leader(&self) -> Option<&Id> {
        self.leader
            .as_ref()
            .filter(|(_, epoch)| *epoch == self.epoch)
            .map(|(id, _)| id)
    }

    /// A higher peer is alive and takes over: wait for its `Coordinator`.
    /// From anyone, `Alive` also carries a newer epoch.
    fn alive_from(&mut self, from: &Id, epoch: Epoch, out: &mut Vec<Action<Id>>) {
        let stepped_down = self.observe(epoch, out);
        if self.stage == Stage::AwaitAlive && from > self.me() {
            self.stage = Stage::AwaitCoordinator;
            out.push(Action::CancelTimer(Timer::AwaitAlive));
            out.push(Action::SetTimer {
                timer: Timer::AwaitCoordinator,
                after: self.config.coordinator_timeout,
            });
        } else if stepped_down {
            self.start_election(out);
        }
    }

    /// A peer claims leadership of `epoch`.
    fn coordinator_from(&mut self, from: Id, epoch: Epoch, out: &mut Vec<Action<Id>>) {
        if self.members.owner(epoch) != Some(&from) {
            // Not an epoch that peer may claim: a confused or foreign peer.
            return;
        }
        if epoch < self.epoch {
            // Ignore the stale claim, but tell the claimant (perhaps just
            // restarted, with no memory of epochs) how far things have gone.
            out.push(Action::Send {
                to: from,
                msg: Message::Alive { epoch: self.epoch },
            });
            return;
        }
        if self.leader.as_ref() == Some(&(from.clone(), epoch)) {
            // A repeated claim (an announcement in a heartbeat): no news.
            return;
        }
        self.observe(epoch, out);
        if &from > self.me() || self.resigned {
            self.follow(from, epoch, out);
        } else {
            // A lower peer may not lead while we live: bully it.
            self.start_election(out);
        }
    }

    /// The leader of `epoch` resigned: elect another.
    fn resign_from(&mut self, from: &Id, epoch: Epoch, out: &mut Vec<Action<Id>>) {
        if epoch < self.epoch || self.members.owner(epoch) != Some(from) {
            return;
        }
        self.observe(epoch, out);
        self.forget_leader(|leader| leader == from, out);
        self.start_election(out);
    }

    fn timer_fired(&mut self, timer: Timer, out: &mut Vec<Action<Id>>) {
        // A timer of a stage already left is stale: ignore it.
        if self.stage.timer() != Some(timer) {
            return;
        }
        self.stage = Stage::Idle;
        match timer {
            Timer::AwaitAlive => self.claim(out),
            Timer::AwaitCoordinator => self.start_election(out),
        }
    }

    fn leader_lost(&mut self, out: &mut Vec<Action<Id>>) {
        if self.is_leader() || self.resigned {
            return;
        }
        self.forget_leader(|_| true, out);
        self.start_election(out);
    }

    fn resign(&mut self, out: &mut Vec<Action<Id>>) {
        if !self.is_leader() {
            return;
        }
        self.leader = None;
        self.resigned = true;
        out.push(Action::SteppedDown { epoch: self.epoch });
        self.leave_stage(out);
        let msg = Message::Resign { epoch: self.epoch };
        for to in self.members.others() {
            out.push(Action::Send {
                to: to.clone(),
                msg,
            });
        }
    }

    /// Learns of `epoch`. A leader of an older epoch steps down at once;
    /// returns whether it did.
    /// An epoch learned outside the election. Unlike a message's epoch, it
    /// deposes a leader of that very epoch too: only a peer with no memory
    /// of its earlier incarnation can claim an epoch twice, and the outside
    /// world has seen the first claim.
    fn epoch_seen(&mut self, epoch: Epoch, out: &mut Vec<Action<Id>>) {
        // The outside world (fenced storage) saw only epochs that peers
        // claimed, so no bound on the lead; but past the ceiling this peer
        // could never outbid it.
        let epoch = epoch.min(self.members.ceiling());
        let deposed = self.is_leader() && epoch >= self.epoch;
        if deposed {
            self.leader = None;
            out.push(Action::SteppedDown { epoch: self.epoch });
        }
        self.epoch = self.epoch.max(epoch);
        // Only an epoch's owner claims it, so the outside world has seen
        // its owner lead. A higher owner is followed as if its
        // `Coordinator` had arrived: it may not have reached us yet (a
        // connection still being set up), and running an election against
        // a leader we cannot hear would only claim, be fenced and claim
        // again. A lower owner is bullied, as its claim would be.
        let owner = self
            .members
            .owner(epoch)
            .filter(|&o| o > self.me())
            .cloned();
        match owner {
            Some(owner) if epoch == self.epoch && !self.resigned => {
                self.follow(owner, epoch, out);
            }
            _ if deposed => self.start_election(out),
            _ => {}
        }
    }

    fn observe(&mut self, epoch: Epoch, out: &mut Vec<Action<Id>>) -> bool {
        if epoch <= self.epoch {
            return false;
        }
        let stepped_down = self.is_leader();
        if stepped_down {
            self.leader = None;
            out.push(Action::SteppedDown { epoch: self.epoch });
        }
        self.epoch = epoch;
        stepped_down
    }

    /// Sends `Election` to every higher peer, or claims leadership if there
    /// is none, and says that an election started. Does nothing while an
    /// election of ours runs or we abstain.
    fn start_election(&mut self, out: &mut Vec<Action<Id>>) {
        if self.resigned || self.stage != Stage::Idle {
            return;
        }
        if self.members.higher().is_empty() {
            // The highest peer's election is its claim; one it cannot make
            // (no epoch left) is refused, not started.
            if self.members.next_epoch(self.epoch).is_some() {
                out.push(Action::ElectionStarted { epoch: self.epoch });
            }
            self.claim(out);
            return;
        }
        out.push(Action::ElectionStarted { epoch: self.epoch });
        let msg = Message::Election { epoch: self.epoch };
        for to in self.members.higher() {
            out.push(Action::Send {
                to: to.clone(),
                msg,
            });
        }
        self.stage = Stage::AwaitAlive;
        out.push(Action::SetTimer {
            timer: Timer::AwaitAlive,
            after: self.config.alive_timeout,
        });
    }

    /// Declares this peer leader of a fresh epoch, to everyone.
    fn claim(&mut self, out: &mut Vec<Action<Id>>) {
        let Some(epoch) = self.members.next_epoch(self.epoch) else {
            out.push(Action::Refused {
                from: self.me().clone(),
                epoch: self.epoch,
                reason: Refusal::Exhausted {
                    last: self.members.last(),
                },
            });
            return;
        };
        self.epoch = epoch;
        self.leader = Some((self.me().clone(), self.epoch));
        out.push(Action::BecameLeader { epoch: self.epoch });
        let msg = Message::Coordinator { epoch: self.epoch };
        for to in self.members.others() {
            out.push(Action::Send {
                to: to.clone(),
                msg,
            });
        }
    }

    /// Follows `leader`, whose claim of `epoch` is current; ends any
    /// election of ours and any abstention.
    fn follow(&mut self, leader: Id, epoch: Epoch, out: &mut Vec<Action<Id>>) {
        self.resigned = false;
        self.leave_stage(out);
        let known = self
            .leader
            .as_ref()
            .is_some_and(|(id, known)| *id == leader && *known == epoch);
        if !known {
            self.leader = Some((leader.clone(), epoch));
            out.push(Action::LeaderIs { leader, epoch });
        }
    }

    /// Forgets the leader we follow if `which` says so (never ourselves).
    fn forget_leader(&mut self, which: impl Fn(&Id) -> bool, out: &mut Vec<Action<Id>>) {
        let me = self.members.me();
        if let Some((leader, epoch)) = self.leader.take_if(|(id, _)| id != me && which(id)) {
            out.push(Action::LeaderGone { leader, epoch });
        }
    }

    /// Ends an election of ours, cancelling its timer.
    fn leave_stage(&mut self, out: &mut Vec<Action<Id>>) {
        if let Some(timer) = self.stage.timer() {
            out.push(Action::CancelTimer(timer));
        }
        self.stage = Stage::Idle;
    }
}
