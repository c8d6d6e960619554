//! The consumer's context: on every assignment the partitions are claimed in PostgreSQL
//! and positioned at their stored offsets before the consumer fetches from them; on every
//! revocation (or loss, after a session timeout) they are forgotten.
//!
//! librdkafka calls [`ConsumerContext::rebalance`] from inside `poll`, which runs on the
//! fetch thread (a blocking thread), so the claim — a PostgreSQL transaction — is run on
//! the tokio runtime and waited for there. It is retried while the database is down: no
//! partition is fetched before it is claimed.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::claims::{self, Claim, Claims};
use super::offsets::TopicPartition;

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The consumer of a processor.
pub(crate) type ProcessorConsumer = BaseConsumer<ClaimingContext>;

/// Claims partitions on assignment; see the module docs.
pub(crate) struct ClaimingContext {
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) pool: PgPool,
    pub(crate) projection: &'static str,
    pub(crate) version: u32,
    pub(crate) owner: String,
    pub(crate) claims: Claims,
    /// Cancelled on shutdown: a claim still retrying gives up.
    pub(crate) stop: CancellationToken,
}

impl ClientContext for ClaimingContext {}

impl ConsumerContext for ClaimingContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let partitions = partitions_of(tpl);
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        if err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            let claimed = self.claim_blocking(&partitions);
            for (tp, claim) in &claimed {
                let offset = claim.next_offset.map_or(Offset::Beginning, Offset::Offset);
                if let Err(err) = tpl.set_partition_offset(&tp.0, tp.1, offset) {
                    tracing::warn!(error = %err, topic = %tp.0, partition = tp.1, "seek on assignment failed");
                }
            }
            tracing::info!(
                projection = self.projection,
                claimed = ?claimed.iter().map(|(tp, c)| (tp, c.epoch, c.next_offset)).collect::<Vec<_>>(),
                "partitions assigned and claimed"
            );
            self.claims.granted(claimed);
            let assigned = if cooperative {
                consumer.incremental_assign(tpl)
            } else {
                consumer.assign(tpl)
            };
            if let Err(err) = assigned {
                tracing::error!(error = %err, "assignment failed");
            }
            return;
        }
        if err != RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS {
            tracing::error!(error = ?err, "rebalance error; giving up the partitions");
        }
        self.claims.revoked(&partitions);
        tracing::info!(
            projection = self.projection,
            ?partitions,
            lost = consumer.assignment_lost(),
            "partitions revoked"
        );
        let unassigned = if cooperative {
            consumer.incremental_unassign(tpl)
        } else {
            consumer.unassign()
        };
        if let Err(err) = unassigned {
            tracing::warn!(error = %err, "unassignment failed");
        }
    }
}

impl ClaimingContext {
    /// Claim `partitions`, retrying with backoff until it succeeds or the processor
    /// stops (then nothing is claimed, and their records are never applied here).
    fn claim_blocking(&self, partitions: &[TopicPartition]) -> Vec<(TopicPartition, Claim)> {
        let (pool, owner, stop) = (self.pool.clone(), self.owner.clone(), self.stop.clone());
        let (projection, version) = (self.projection, self.version);
        let partitions = partitions.to_vec();
        let claiming = self.runtime.spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                match claims::claim(&pool, projection, version, &owner, &partitions).await {
                    Ok(claimed) => return claimed.into_iter().collect(),
                    Err(err) => {
                        tracing::warn!(error = %err, retry_in = ?backoff, "claiming partitions failed; retrying");
                    }
                }
                tokio::select! {
                    () = stop.cancelled() => return Vec::new(),
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        });
        futures::executor::block_on(claiming).unwrap_or_default()
    }
}

/// The topic partitions named in `tpl`.
pub(crate) fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}
