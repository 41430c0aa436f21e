//! The fixed set of peers, and which epochs each of them may claim.

use crate::Epoch;

/// Every peer of the election, this one included, sorted and distinct.
///
/// Epochs are dealt out by rank so that two peers can never claim the same
/// one, even when they race: with `n` members, the member of rank `r` (0 for
/// the lowest id) claims only epochs `round * n + r` with `round >= 1`. Within
/// a round the higher id holds the higher epoch, so racing claims resolve in
/// the highest id's favour. All peers must be built from the same membership.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Members<Id> {
    ids: Vec<Id>,
    rank: usize,
}

impl<Id: Ord + Clone> Members<Id> {
    /// The members `me` and `peers`; duplicates and `me` among `peers` are
    /// dropped.
    pub(crate) fn new(me: &Id, peers: impl IntoIterator<Item = Id>) -> Self {
        let mut ids: Vec<Id> = peers.into_iter().collect();
        ids.push(me.clone());
        ids.sort();
        ids.dedup();
        let rank = ids.binary_search(me).unwrap_or_default();
        Self { ids, rank }
    }

    /// This peer's id.
    pub(crate) fn me(&self) -> &Id {
        &self.ids[self.rank]
    }

    /// Every other member, lowest first.
    pub(crate) fn others(&self) -> impl Iterator<Item = &Id> {
        self.ids.iter().filter(|id| *id != self.me())
    }

    /// The members with a higher id than this one, lowest first.
    pub(crate) fn higher(&self) -> &[Id] {
        &self.ids[self.rank + 1..]
    }

    /// Whether `id` is another member.
    pub(crate) fn is_other(&self, id: &Id) -> bool {
        id != self.me() && self.ids.binary_search(id).is_ok()
    }

    /// The smallest epoch of this peer's that is greater than `seen`: the
    /// next round after `seen`'s, at this peer's rank; `None` past
    /// [`last`](Self::last). Checked, never saturated: at the top of the
    /// range every rank would otherwise claim the same epoch.
    pub(crate) fn next_epoch(&self, seen: Epoch) -> Option<Epoch> {
        let n = self.ids.len() as u64;
        let round = (seen.0 / n).checked_add(1)?;
        let epoch = Epoch(round.checked_mul(n)?.checked_add(self.rank as u64)?);
        (epoch <= self.last()).then_some(epoch)
    }

    /// The last epoch any member claims: the top of the last whole round
    /// at or below [`Epoch::MAX`].
    pub(crate) fn last(&self) -> Epoch {
        let n = self.ids.len() as u64;
        // Epoch::MAX + 1 = 2^63 fits in a u64; the quotient is at least 1.
        Epoch((Epoch::MAX.0 + 1) / n * n - 1)
    }

    /// The highest epoch that every member can still outbid: one round
    /// below [`last`](Self::last). A peer accepts no epoch above it, so
    /// that whatever it accepted, it can claim a later one.
    pub(crate) fn ceiling(&self) -> Epoch {
        Epoch(self.last().0 - self.ids.len() as u64)
    }

    /// The only member that may claim `epoch`, or `None` for round 0, which
    /// nobody claims.
    pub(crate) fn owner(&self, epoch: Epoch) -> Option<&Id> {
        let n = self.ids.len() as u64;
        if epoch.0 < n {
            return None;
        }
        usize::try_from(epoch.0 % n)
            .ok()
            .and_then(|rank| self.ids.get(rank))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn me_and_duplicates_are_dropped_from_peers() {
        let members = Members::new(&2, [3, 1, 2, 3]);
        assert_eq!(members.others().copied().collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(members.higher(), &[3]);
        assert!(members.is_other(&1));
        assert!(!members.is_other(&2));
        assert!(!members.is_other(&9));
    }

    #[test]
    fn higher_ids_claim_higher_epochs_within_a_round() {
        let low = Members::new(&1, [2, 3]);
        let high = Members::new(&3, [1, 2]);
        assert_eq!(low.next_epoch(Epoch(0)), Some(Epoch(3)));
        assert_eq!(high.next_epoch(Epoch(0)), Some(Epoch(5)));
        assert_eq!(low.next_epoch(Epoch(5)), Some(Epoch(6)));
        assert_eq!(high.next_epoch(Epoch(5)), Some(Epoch(8)));
        assert_eq!(high.owner(Epoch(8)), Some(&3));
        assert_eq!(high.owner(Epoch(2)), None);
    }

    #[test]
    fn the_last_round_ends_at_or_below_the_largest_epoch() {
        // 2^63 = 3 * 3074457345618258602 + 2: three peers' last whole round
        // ends two below Epoch::MAX.
        let (low, high) = (Members::new(&1, [2, 3]), Members::new(&3, [1, 2]));
        assert_eq!(high.last(), Epoch(Epoch::MAX.0 - 2));
        assert_eq!(high.ceiling(), Epoch(Epoch::MAX.0 - 5));
        assert_eq!(high.next_epoch(high.ceiling()), Some(high.last()));
        assert_eq!(low.next_epoch(low.ceiling()), Some(Epoch(Epoch::MAX.0 - 4)));
        assert_eq!(high.next_epoch(high.last()), None);
        assert_eq!(low.next_epoch(Epoch::MAX), None);
        assert_eq!(low.next_epoch(Epoch(u64::MAX)), None);
        // One peer: every epoch up to the largest is its own.
        let alone = Members::new(&1, []);
        assert_eq!(alone.last(), Epoch::MAX);
        assert_eq!(alone.next_epoch(Epoch(Epoch::MAX.0 - 1)), Some(Epoch::MAX));
        assert_eq!(alone.next_epoch(Epoch::MAX), None);
    }

    proptest! {
        #[test]
        fn every_member_outbids_the_ceiling_and_nobody_claims_past_the_last(
            n in 1_u64..60,
            rank in 0_u64..60,
            below in 0_u64..1_000,
        ) {
            let rank = rank % n;
            let members = Members::new(&rank, 0..n);
            let seen = Epoch(members.ceiling().0.saturating_sub(below));
            let claim = members.next_epoch(seen).expect("a claim above the ceiling");
            prop_assert!(claim > seen && claim <= members.last() && claim <= Epoch::MAX);
            prop_assert_eq!(members.next_epoch(members.last()), None);
        }


        #[test]
        fn claims_are_fresh_and_owned_by_the_claimant(
            n in 1_u64..60,
            rank in 0_u64..60,
            seen in 0_u64..1_000_000,
        ) {
            let rank = rank % n;
            let members = Members::new(&rank, 0..n);
            let claim = members.next_epoch(Epoch(seen)).expect("far below the last");
            prop_assert!(claim > Epoch(seen));
            prop_assert!(claim.0 - seen <= 2 * n);
            prop_assert_eq!(members.owner(claim), Some(&rank));
            // Every other member would claim a different epoch.
            for other in (0..n).filter(|o| *o != rank) {
                let theirs = Members::new(&other, 0..n).next_epoch(Epoch(seen)).expect("below the last");
                prop_assert_ne!(theirs, claim);
                prop_assert_eq!(theirs > claim, other > rank);
            }
        }
    }
}
