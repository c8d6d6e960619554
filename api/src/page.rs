//! The one page type of the API's lists: [`Page`], `{items, next_cursor}`. A list takes
//! `?limit=` (checked against its [`Limits`] by [`limit`]) and an opaque `?cursor=` (a
//! [`Cursor`]: the keyset of the last row of the previous page, read by [`cursor`]); its
//! read fetches `limit + 1` rows, and [`Page::of`] keeps `limit` of them and names the
//! next page's cursor when more follow.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::ApiError;

/// The default and the largest `?limit=` of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// When `?limit=` is left out.
    pub default: i64,
    /// The largest accepted.
    pub max: i64,
}

/// A rider's history (rides, reservations): 20, at most 100.
pub const HISTORY: Limits = Limits {
    default: 20,
    max: 100,
};

/// `?limit=`, or the default; 1 to `limits.max`.
///
/// # Errors
/// 400 `invalid_parameter` naming `limit`.
pub fn limit(value: Option<i64>, limits: Limits) -> Result<i64, ApiError> {
    let limit = value.unwrap_or(limits.default);
    if (1..=limits.max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid_parameter(
            "limit",
            format!("limit must be 1 to {}", limits.max),
        ))
    }
}

/// Where a page starts: after the row this keyset names. Opaque to clients.
pub trait Cursor: Sized {
    /// The text sent as `next_cursor`.
    fn encode(&self) -> String;
    /// The keyset `text` names, if it is one.
    fn decode(text: &str) -> Option<Self>;
}

/// After the row with this `(time, id)`: newest-first lists (a rider's history).
pub type After = (DateTime<Utc>, Uuid);

impl Cursor for After {
    /// The time (µs) and id, base64url.
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.0.timestamp_micros(), self.1))
    }

    fn decode(text: &str) -> Option<Self> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        let (micros, id) = raw.split_once(':')?;
        Some((
            DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            Uuid::parse_str(id).ok()?,
        ))
    }
}

/// After this id: lists in id order (the operator's fleet).
impl Cursor for Uuid {
    fn encode(&self) -> String {
        self.to_string()
    }

    fn decode(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok()
    }
}

/// `?cursor=`, decoded.
///
/// # Errors
/// 400 `invalid_parameter` naming `cursor`.
pub fn cursor<C: Cursor>(text: Option<&str>) -> Result<Option<C>, ApiError> {
    text.map(|t| {
        C::decode(t).ok_or_else(|| ApiError::invalid_parameter("cursor", "cursor is not valid"))
    })
    .transpose()
}

/// One page of a list.
#[derive(Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// The `?cursor=` of the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// No items, no next page (e.g. while the read model is not built).
    pub fn empty() -> Self {
        Self {
            items: Vec::new(),
            next_cursor: None,
        }
    }

    /// The first `limit` of `rows` (read with `limit + 1`) and, when more follow, the
    /// cursor after the last one kept; `key` gives a row's keyset.
    pub fn of<C: Cursor>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> Option<C>) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more {
            rows.last().and_then(key).map(|c| c.encode())
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// The same page with each item turned by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_encodes_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let id = Uuid::from_u128(42);
        assert_eq!(After::decode(&(at, id).encode()), Some((at, id)));
        assert_eq!(After::decode("not-a-cursor"), None);
        assert_eq!(Uuid::decode(&id.encode()), Some(id));
        let err = cursor::<After>(Some("junk")).unwrap_err();
        assert_eq!(
            (err.code(), err.field()),
            ("invalid_parameter", Some("cursor"))
        );
        assert_eq!(cursor::<After>(None).unwrap(), None);
    }

    #[test]
    fn a_limit_is_the_default_or_within_the_bounds() {
        assert_eq!(limit(None, HISTORY).unwrap(), 20);
        assert_eq!(limit(Some(100), HISTORY).unwrap(), 100);
        for bad in [0, -1, 101] {
            let err = limit(Some(bad), HISTORY).unwrap_err();
            assert_eq!(err.field(), Some("limit"));
            assert_eq!(
                err.to_string(),
                "400 Bad Request invalid_parameter: limit must be 1 to 100"
            );
        }
    }

    #[test]
    fn a_page_is_cut_at_the_limit_and_names_its_last_row_when_more_follow() {
        let at = DateTime::from_timestamp_micros(1_000).unwrap();
        let key = |n: &u128| Some((at, Uuid::from_u128(*n)));
        let page = Page::of(vec![1, 2, 3], 2, key);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(
            page.next_cursor.as_deref().and_then(After::decode),
            Some((at, Uuid::from_u128(2)))
        );
        assert_eq!(
            Page::of(vec![1, 2], 2, key),
            Page {
                items: vec![1, 2],
                next_cursor: None
            }
        );
    }

    #[test]
    fn a_page_serialises_as_items_and_next_cursor() {
        let page = Page::of(vec![Uuid::from_u128(1), Uuid::from_u128(2)], 1, |id| {
            Some(*id)
        });
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            serde_json::json!({
                "items": ["00000000-0000-0000-0000-000000000001"],
                "next_cursor": "00000000-0000-0000-0000-000000000001",
            })
        );
    }
}
