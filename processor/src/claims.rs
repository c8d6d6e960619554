//! Partition claims: which process may move a partition's stored offsets.
//!
//! Every assignment of a partition to a process *claims* it in PostgreSQL
//! (`projection_claims`): its owner epoch goes up by one, the claimant is recorded, and
//! the stored next offset is read in the same transaction. Each batch takes a share lock
//! on its partitions' claim rows first ([`ensure_held`]) and commits only while their
//! epochs are still the ones this process claimed, so:
//!
//! - a claim waits for the previous owner's batch in flight, and reads the offsets that
//!   batch stored;
//! - an instance whose partitions moved (a rebalance, or a session timeout while it
//!   hung) can never commit a late batch for them: its batch finds a newer epoch and is
//!   rolled back ([`RuntimeError::Fenced`]).
//!
//! [`Claims`] carries the claims from the consumer's rebalance callback (on the fetch
//! thread) to the batch loop, which follows them with [`Holdings`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::{PgConnection, PgPool};

use super::error::RuntimeError;
use super::offsets::{StoredOffsets, TopicPartition};
use super::schema::version_i32;

/// One claimed partition: the epoch this process holds and the next offset stored when it
/// claimed (`None`: nothing stored yet, start at the beginning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) epoch: i64,
    pub(crate) next_offset: Option<i64>,
}

/// The partitions this process holds, shared by the rebalance callback (writer) and the
/// batch loop and lag reporter (readers).
#[derive(Debug, Clone, Default)]
pub(crate) struct Claims(Arc<Mutex<HashMap<TopicPartition, Claim>>>);

impl Claims {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<TopicPartition, Claim>) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Partitions newly claimed.
    pub(crate) fn granted(&self, claims: impl IntoIterator<Item = (TopicPartition, Claim)>) {
        self.with(|held| held.extend(claims));
    }

    /// Partitions taken away by a rebalance.
    pub(crate) fn revoked(&self, partitions: &[TopicPartition]) {
        self.with(|held| {
            for tp in partitions {
                held.remove(tp);
            }
        });
    }

    /// Forget `partition` if it is still held at `epoch`: a batch found it claimed by
    /// another process. A later assignment claims it again.
    pub(crate) fn fenced(&self, partition: &TopicPartition, epoch: i64) {
        self.with(|held| {
            if held.get(partition).is_some_and(|c| c.epoch == epoch) {
                held.remove(partition);
            }
        });
    }

    /// The claims as they are now.
    pub(crate) fn snapshot(&self) -> HashMap<TopicPartition, Claim> {
        self.with(|held| held.clone())
    }

    /// The partitions held now, in order.
    pub(crate) fn partitions(&self) -> Vec<TopicPartition> {
        let mut list: Vec<TopicPartition> = self.with(|held| held.keys().cloned().collect());
        list.sort();
        list
    }
}

/// The batch loop's view of its partitions: the epoch of each held partition and the
/// next offset stored for it (by its claim or by this process's batches since).
#[derive(Debug, Default)]
pub(crate) struct Holdings {
    pub(crate) epochs: HashMap<TopicPartition, i64>,
    pub(crate) stored: StoredOffsets,
}

impl Holdings {
    /// Follow `claims`: a partition claimed anew (another epoch) continues from the offset
    /// read with its claim; a partition no longer claimed is dropped.
    pub(crate) fn follow(&mut self, claims: &HashMap<TopicPartition, Claim>) {
        self.epochs.retain(|tp, _| claims.contains_key(tp));
        self.stored.retain(|tp, _| claims.contains_key(tp));
        for (tp, claim) in claims {
            if self.epochs.get(tp) == Some(&claim.epoch) {
                continue;
            }
            self.epochs.insert(tp.clone(), claim.epoch);
            match claim.next_offset {
                Some(next) => self.stored.insert(tp.clone(), next),
                None => self.stored.remove(tp),
            };
        }
    }

    /// The first offset of `topic`/`partition` due here: `None` when the partition is not
    /// held; else its stored next offset (0 when none is stored). Records before it were
    /// fetched before a claim moved the position: they are dropped, never applied twice.
    pub(crate) fn next_due(&self, topic: &str, partition: i32) -> Option<i64> {
        let tp = (topic.to_owned(), partition);
        self.epochs
            .contains_key(&tp)
            .then(|| self.stored.get(&tp).copied().unwrap_or(0))
    }
}

/// Claim `partitions` of `projection` version `version` for `owner`, and read their stored
/// next offsets after every batch of a previous owner that committed.
///
/// # Errors
/// Database errors (transient: the caller retries).
pub(crate) async fn claim(
    pool: &PgPool,
    projection: &str,
    version: u32,
    owner: &str,
    partitions: &[TopicPartition],
) -> Result<HashMap<TopicPartition, Claim>, RuntimeError> {
    let topics: Vec<&str> = partitions.iter().map(|tp| tp.0.as_str()).collect();
    let numbers: Vec<i32> = partitions.iter().map(|tp| tp.1).collect();
    let mut tx = pool.begin().await?;
    let epochs: Vec<(String, i32, i64)> = sqlx::query_as(include_str!("../sql/claim.sql"))
        .bind(projection)
        .bind(version_i32(version))
        .bind(&topics)
        .bind(&numbers)
        .bind(owner)
        .fetch_all(&mut *tx)
        .await?;
    let stored: StoredOffsets = sqlx::query_as::<_, (String, i32, i64)>(
        "SELECT topic, partition, next_offset FROM projection_offsets \
         WHERE projection = $1 AND version = $2 \
           AND (topic, partition) IN (SELECT * FROM unnest($3::text[], $4::integer[]))",
    )
    .bind(projection)
    .bind(version_i32(version))
    .bind(&topics)
    .bind(&numbers)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|(t, p, o)| ((t, p), o))
    .collect();
    tx.commit().await?;
    Ok(epochs
        .into_iter()
        .map(|(t, p, epoch)| {
            let tp = (t, p);
            let next_offset = stored.get(&tp).copied();
            (tp, Claim { epoch, next_offset })
        })
        .collect())
}

/// In a batch's transaction, before it writes: lock the claim rows of the partitions in
/// `epochs` (shared, until commit) and check each still has the epoch this process holds.
///
/// # Errors
/// [`RuntimeError::Fenced`] naming the partitions claimed by another process since.
pub(crate) async fn ensure_held(
    tx: &mut PgConnection,
    projection: &str,
    version: u32,
    epochs: &[(&TopicPartition, i64)],
) -> Result<(), RuntimeError> {
    let topics: Vec<&str> = epochs.iter().map(|(tp, _)| tp.0.as_str()).collect();
    let numbers: Vec<i32> = epochs.iter().map(|(tp, _)| tp.1).collect();
    let current: HashMap<TopicPartition, i64> = sqlx::query_as::<_, (String, i32, i64)>(
        "SELECT topic, partition, epoch FROM projection_claims \
         WHERE projection = $1 AND version = $2 \
           AND (topic, partition) IN (SELECT * FROM unnest($3::text[], $4::integer[])) \
         ORDER BY topic, partition FOR SHARE",
    )
    .bind(projection)
    .bind(version_i32(version))
    .bind(&topics)
    .bind(&numbers)
    .fetch_all(tx)
    .await?
    .into_iter()
    .map(|(t, p, e)| ((t, p), e))
    .collect();
    let fenced: Vec<(TopicPartition, i64)> = epochs
        .iter()
        .filter(|(tp, epoch)| current.get(*tp) != Some(epoch))
        .map(|(tp, epoch)| ((*tp).clone(), *epoch))
        .collect();
    if fenced.is_empty() {
        Ok(())
    } else {
        Err(RuntimeError::Fenced {
            projection: projection.to_owned(),
            partitions: fenced,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> TopicPartition {
        ("t".to_owned(), p)
    }

    fn claims(list: &[(i32, i64, Option<i64>)]) -> HashMap<TopicPartition, Claim> {
        list.iter()
            .map(|&(p, epoch, next_offset)| (tp(p), Claim { epoch, next_offset }))
            .collect()
    }

    #[test]
    fn a_new_claim_starts_at_its_stored_offset_and_a_lost_partition_is_dropped() {
        let mut holdings = Holdings::default();
        holdings.follow(&claims(&[(0, 1, Some(10)), (1, 1, None)]));
        assert_eq!(
            holdings.next_due("t", 0),
            Some(10),
            "from the stored offset"
        );
        assert_eq!(
            holdings.next_due("t", 1),
            Some(0),
            "nothing stored: from the beginning"
        );
        assert_eq!(holdings.next_due("t", 2), None, "never claimed");
        holdings.follow(&claims(&[(1, 1, None)]));
        assert_eq!(holdings.next_due("t", 0), None, "revoked");
        assert!(!holdings.stored.contains_key(&tp(0)));
    }

    #[test]
    fn the_same_epoch_keeps_what_this_process_stored_since_and_a_new_epoch_replaces_it() {
        let mut holdings = Holdings::default();
        holdings.follow(&claims(&[(0, 1, Some(10))]));
        holdings.stored.insert(tp(0), 40);
        holdings.follow(&claims(&[(0, 1, Some(10))]));
        assert_eq!(holdings.stored.get(&tp(0)), Some(&40));
        holdings.follow(&claims(&[(0, 3, Some(70))]));
        assert_eq!(holdings.stored.get(&tp(0)), Some(&70));
        assert_eq!(holdings.epochs.get(&tp(0)), Some(&3));
        assert_eq!(holdings.next_due("t", 0), Some(70));
    }

    #[test]
    fn a_fenced_partition_is_forgotten_only_at_the_epoch_that_was_fenced() {
        let shared = Claims::default();
        shared.granted(claims(&[(0, 2, None), (1, 2, None)]));
        shared.fenced(&tp(0), 1);
        assert_eq!(shared.partitions(), vec![tp(0), tp(1)], "an older epoch");
        shared.fenced(&tp(0), 2);
        shared.revoked(&[tp(5)]);
        assert_eq!(shared.partitions(), vec![tp(1)]);
    }
}
