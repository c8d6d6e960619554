//! Data age: the one meaning of `X-Fleetlog-Data-Age-Ms`, measured by
//! [`ReadModels::data_age`] and sent by [`Aged`] on every answer read from a read model
//! (`/v1`, GBFS and MDS alike).
//!
//! **Meaning.** How old, at most, the newest data behind the answer may be, in ms: the
//! answer reflects everything written to the log up to *now − age*, i.e. the time since
//! the read models behind it were last known to be caught up. Per partition of a
//! projection's live version: once it has applied the log's end as its projector last
//! measured it (the high watermark of the last lag report, every 2 s), the time since that
//! report; before, the time since the newest record it has applied was written. The age
//! is the largest over the partitions of every projection behind the answer. So a
//! caught-up projection reads 0 to about 2000 ms, and the age keeps growing when a
//! projector stops reporting: an upper bound, never an optimistic 0. While it is unknown —
//! no lag reported for a live version yet, or a partition behind that has applied nothing
//! — the header is left out.
//!
//! The same value is GBFS's `last_updated` and MDS's `last_updated` (now − age), decides
//! whether an MDS hour is final, and is `data_age_ms` of `GET /v1/admin/projections`.

use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::{Projection, ReadModels};

/// The header carrying the data age.
pub const DATA_AGE: HeaderName = HeaderName::from_static("x-fleetlog-data-age-ms");

/// The header's meaning, as the OpenAPI document states it.
pub const DATA_AGE_DESCRIPTION: &str = "How old, at most, the newest data behind the \
    answer may be, in ms: the time since the read models behind it were last known to be \
    caught up with the log (0 to about 2000 when they are; it grows while they fall \
    behind). Left out while unknown.";

/// SQL joining, to a `projection_lag` row `l`, the stored offset `o` of the same
/// partition (written with the read model, so fresher than the last lag report).
pub(crate) const OFFSETS_JOIN: &str = "LEFT JOIN projection_offsets o
    ON o.projection = l.projection AND o.version = l.version
   AND o.topic = l.topic AND o.partition = l.partition";

/// SQL: the time up to which one partition is known to be current, over `l` and `o`
/// ([`OFFSETS_JOIN`]) — the last lag report once its high watermark is applied, else the
/// timestamp of the newest record applied (`NULL` when none is).
const PARTITION_CURRENT_AS_OF: &str = "CASE
    WHEN greatest(o.next_offset, l.next_offset) >= l.high_watermark THEN l.updated_at
    ELSE coalesce(o.last_record_at, l.last_record_at) END";

/// SQL aggregate over the partitions (`l`, `o`) of one version: the time up to which all
/// are known to be current; `NULL` when any is unknown or no lag was reported (a
/// `LEFT JOIN` row of NULLs included).
pub(crate) fn current_as_of_sql() -> String {
    format!(
        "CASE WHEN bool_or(({PARTITION_CURRENT_AS_OF}) IS NULL) THEN NULL \
         ELSE min({PARTITION_CURRENT_AS_OF}) END"
    )
}

/// How old the read models behind an answer may be: the time up to which they are known
/// to reflect the log, if known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataAge {
    current_as_of: Option<DateTime<Utc>>,
}

impl DataAge {
    /// Unknown: no lag reported yet.
    pub const UNKNOWN: Self = Self {
        current_as_of: None,
    };

    /// Known to reflect the log up to `at`.
    pub fn current_as_of(at: DateTime<Utc>) -> Self {
        Self {
            current_as_of: Some(at),
        }
    }

    /// The age at `now`, ms (never negative); `None` when unknown.
    pub fn ms_at(self, now: DateTime<Utc>) -> Option<i64> {
        self.current_as_of
            .map(|at| (now - at).num_milliseconds().max(0))
    }

    /// When the data was last known current (not after `now`); `now` when unknown — what
    /// GBFS and MDS send as `last_updated`.
    pub fn last_updated(self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.current_as_of.map_or(now, |at| at.min(now))
    }

    /// The time up to which the data is known current, if known.
    pub fn known_current_at(self) -> Option<DateTime<Utc>> {
        self.current_as_of
    }

    /// The age of an answer read from both: the older, unknown if either is.
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        match (self.current_as_of, other.current_as_of) {
            (Some(a), Some(b)) => Self::current_as_of(a.min(b)),
            _ => Self::UNKNOWN,
        }
    }
}

/// An answer read from read models: `T` with `X-Fleetlog-Data-Age-Ms` (left out while
/// the age is unknown). Measure the age before reading, so the answer is at least as
/// fresh as the header says.
#[derive(Debug)]
pub struct Aged<T>(pub DataAge, pub T);

impl<T: IntoResponse> IntoResponse for Aged<T> {
    fn into_response(self) -> Response {
        let Aged(age, body) = self;
        let mut response = body.into_response();
        if let Some(ms) = age.ms_at(Utc::now()) {
            response
                .headers_mut()
                .insert(DATA_AGE, HeaderValue::from(ms));
        }
        response
    }
}

impl ReadModels {
    /// The data age of an answer read from `projections` (their live versions).
    ///
    /// # Errors
    /// Database failures.
    pub async fn data_age(&self, projections: &[Projection]) -> Result<DataAge, sqlx::Error> {
        let mut age: Option<DataAge> = None;
        for &projection in projections {
            let one = self.current_as_of(projection).await?;
            age = Some(age.map_or(one, |a| a.and(one)));
        }
        Ok(age.unwrap_or(DataAge::UNKNOWN))
    }

    /// The data age of `projection`'s live version, remembered for
    /// [`super::DATA_AGE_TTL`] (as a time, so the age still grows meanwhile).
    async fn current_as_of(&self, projection: Projection) -> Result<DataAge, sqlx::Error> {
        if let Some(age) = self.data_ages.get(projection) {
            return Ok(age);
        }
        let at: Option<DateTime<Utc>> = sqlx::query_scalar(&format!(
            "SELECT {} FROM projection_lag l
             JOIN projection_versions v
               ON v.projection = l.projection AND v.version = l.version AND v.state = 'live'
             {OFFSETS_JOIN}
             WHERE l.projection = $1",
            current_as_of_sql()
        ))
        .bind(projection.name())
        .fetch_one(self.pool())
        .await?;
        let age = at.map_or(DataAge::UNKNOWN, DataAge::current_as_of);
        self.data_ages.put(projection, age);
        Ok(age)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).expect("time")
    }

    #[test]
    fn the_age_is_the_time_since_the_data_was_known_current() {
        let age = DataAge::current_as_of(at(10_000));
        assert_eq!(age.ms_at(at(12_500)), Some(2_500));
        assert_eq!(age.ms_at(at(9_000)), Some(0), "never negative");
        assert_eq!(age.last_updated(at(12_500)), at(10_000));
        assert_eq!(
            age.last_updated(at(9_000)),
            at(9_000),
            "never in the future"
        );
        assert_eq!(DataAge::UNKNOWN.ms_at(at(1)), None);
        assert_eq!(DataAge::UNKNOWN.last_updated(at(1)), at(1));
    }

    #[test]
    fn an_answer_from_two_read_models_is_as_old_as_the_older() {
        let (old, new) = (
            DataAge::current_as_of(at(1_000)),
            DataAge::current_as_of(at(5_000)),
        );
        assert_eq!(old.and(new), old);
        assert_eq!(new.and(old), old);
        assert_eq!(new.and(DataAge::UNKNOWN), DataAge::UNKNOWN);
    }

    #[test]
    fn an_aged_answer_carries_the_header_only_when_the_age_is_known() {
        let known = Aged(DataAge::current_as_of(Utc::now()), "body").into_response();
        let ms: i64 = known.headers()[DATA_AGE]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("a number");
        assert!((0..5_000).contains(&ms), "{ms}");
        let unknown = Aged(DataAge::UNKNOWN, "body").into_response();
        assert!(unknown.headers().get(DATA_AGE).is_none());
    }
}
