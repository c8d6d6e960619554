//! Keyset pages of a rider's history (rides, reservations): `?limit=` checked, an opaque
//! `?cursor=` naming the last row of the previous page by `(time, id)`, and the split of
//! `limit + 1` fetched rows into a page and whether another follows.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::ApiError;

/// Default and largest `?limit=`.
pub const DEFAULT_LIMIT: i64 = 20;
/// See [`DEFAULT_LIMIT`].
pub const MAX_LIMIT: i64 = 100;

/// Where a page starts: after the row with this `(time, id)`.
pub(crate) type After = (DateTime<Utc>, Uuid);

/// `?limit=` (default [`DEFAULT_LIMIT`]) and the decoded `?cursor=`.
///
/// # Errors
/// 400 naming `limit` or `cursor`.
pub(crate) fn request(
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<(i64, Option<After>), ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_parameter(
            "limit",
            "limit must be 1 to 100",
        ));
    }
    let after = match cursor {
        None => None,
        Some(c) => Some(
            decode_cursor(c)
                .ok_or_else(|| ApiError::invalid_parameter("cursor", "cursor is not valid"))?,
        ),
    };
    Ok((limit, after))
}

/// The first `limit` of `rows` (fetched with `limit + 1`) and the cursor after the last
/// one when more follow; `key` gives a row's `(time, id)`.
pub(crate) fn split<T>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> Option<After>,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more {
        rows.last()
            .and_then(&key)
            .map(|(at, id)| encode_cursor(at, id))
    } else {
        None
    };
    (rows, next)
}

/// The position after a row: its time (µs) and id, opaque to clients.
fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", at.timestamp_micros()))
}

fn decode_cursor(text: &str) -> Option<After> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
    let (micros, id) = raw.split_once(':')?;
    Some((
        DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        Uuid::parse_str(id).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_encodes_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let id = Uuid::from_u128(42);
        assert_eq!(decode_cursor(&encode_cursor(at, id)), Some((at, id)));
        assert_eq!(decode_cursor("not-a-cursor"), None);
        assert!(request(Some(0), None).is_err());
        assert!(request(None, Some("junk")).is_err());
        assert_eq!(request(None, None).unwrap(), (DEFAULT_LIMIT, None));
    }

    #[test]
    fn a_page_is_cut_at_the_limit_and_names_its_last_row_when_more_follow() {
        let at = DateTime::from_timestamp_micros(1_000).unwrap();
        let key = |n: &u128| Some((at, Uuid::from_u128(*n)));
        let (page, next) = split(vec![1, 2, 3], 2, key);
        assert_eq!(page, vec![1, 2]);
        assert_eq!(
            next.as_deref().and_then(decode_cursor),
            Some((at, Uuid::from_u128(2)))
        );
        assert_eq!(split(vec![1, 2], 2, key), (vec![1, 2], None));
    }
}
