//! A chain of events as a tree by causation, with the read-model rows each event last
//! wrote: serialisable for the API, printable for the terminal.

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// One event of a chain, as the lineage recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TracedEvent {
    /// `ce_id` (or a synthetic id when the record had none).
    pub event_id: Uuid,
    /// Whether `event_id` is synthetic (UUID v5 of the record's position).
    pub synthetic_id: bool,
    /// `ce_type`.
    pub event_type: Option<String>,
    /// Topic it was first written to.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Record key (device or vehicle id).
    pub key: Option<String>,
    /// `correlation_id`.
    pub correlation_id: Option<Uuid>,
    /// `causation_id`: the parent event.
    pub causation_id: Option<Uuid>,
    /// `ce_time`.
    pub time: Option<DateTime<Utc>>,
    /// `ce_source`: who wrote it.
    pub source: Option<String>,
    /// `ce_subject`.
    pub subject: Option<String>,
    /// The record's log timestamp.
    pub log_time: Option<DateTime<Utc>>,
    /// Where its dead-letter copy is, if it was dead-lettered.
    pub dlq_record: Option<String>,
    /// Why it was dead-lettered.
    pub dlq_error: Option<String>,
    /// Who dead-lettered it.
    pub dlq_processor: Option<String>,
}

impl TracedEvent {
    /// The short kind from `ce_type`: `frame` for `io.fleetlog.scooter.frame.v1`.
    pub fn kind(&self) -> &str {
        self.event_type
            .as_deref()
            .and_then(|t| t.rsplit('.').nth(1))
            .unwrap_or("record")
    }

    fn at(&self) -> Option<DateTime<Utc>> {
        self.time.or(self.log_time)
    }
}

/// A read-model row whose `last_event_id` (or `event_id`) is an event of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TouchedRow {
    /// `<schema>.<table>`, e.g. `proj_fleet_v1.devices`.
    pub table: String,
    /// The row's key, e.g. the device id.
    pub key: String,
    /// The event that wrote it.
    pub event_id: Uuid,
    /// The whole row.
    pub row: serde_json::Value,
}

/// One event with what it caused.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TraceNode {
    /// The event.
    #[serde(flatten)]
    pub event: TracedEvent,
    /// Milliseconds since the root of the trace (`None` without a time).
    pub since_root_ms: Option<i64>,
    /// Read-model rows this event wrote last.
    pub read_models: Vec<TouchedRow>,
    /// Events caused by this one, by time.
    #[schema(no_recursion)]
    pub children: Vec<TraceNode>,
}

/// The chain of one external event: see [`super::trace`].
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Trace {
    /// The id asked for.
    pub id: Uuid,
    /// The chain's correlation id (`None` for an event without one).
    pub correlation_id: Option<Uuid>,
    /// Events in the chain.
    pub events: usize,
    /// Whether the chain was longer than what is shown.
    pub truncated: bool,
    /// Events without a parent in the chain (normally one: the frame or command), by time.
    pub roots: Vec<TraceNode>,
}

/// Arrange `events` (sorted by time) as trees by causation and attach `touched` rows.
pub(crate) fn build(
    id: Uuid,
    correlation_id: Option<Uuid>,
    events: Vec<TracedEvent>,
    touched: Vec<TouchedRow>,
    truncated: bool,
) -> Trace {
    let ids: HashSet<Uuid> = events.iter().map(|e| e.event_id).collect();
    let mut children: HashMap<Uuid, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match e
            .causation_id
            .filter(|c| ids.contains(c) && *c != e.event_id)
        {
            Some(parent) => children.entry(parent).or_default().push(i),
            None => roots.push(i),
        }
    }
    let root_time = roots.iter().filter_map(|&i| events[i].at()).min();
    let mut rows: HashMap<Uuid, Vec<TouchedRow>> = HashMap::new();
    for row in touched {
        rows.entry(row.event_id).or_default().push(row);
    }
    let mut builder = Builder {
        events: &events,
        children: &children,
        rows,
        root_time,
        visited: HashSet::new(),
    };
    let mut trees: Vec<TraceNode> = roots.iter().map(|&i| builder.node(i)).collect();
    // Events in a causation cycle have no root; show them rather than lose them.
    for i in 0..events.len() {
        if !builder.visited.contains(&i) {
            trees.push(builder.node(i));
        }
    }
    Trace {
        id,
        correlation_id,
        events: events.len(),
        truncated,
        roots: trees,
    }
}

struct Builder<'a> {
    events: &'a [TracedEvent],
    children: &'a HashMap<Uuid, Vec<usize>>,
    rows: HashMap<Uuid, Vec<TouchedRow>>,
    root_time: Option<DateTime<Utc>>,
    visited: HashSet<usize>,
}

impl Builder<'_> {
    fn node(&mut self, i: usize) -> TraceNode {
        self.visited.insert(i);
        let event = self.events[i].clone();
        let kids: Vec<usize> = self
            .children
            .get(&event.event_id)
            .map(|k| {
                k.iter()
                    .copied()
                    .filter(|k| !self.visited.contains(k))
                    .collect()
            })
            .unwrap_or_default();
        let children = kids.into_iter().map(|k| self.node(k)).collect();
        let since_root_ms = event
            .at()
            .zip(self.root_time)
            .map(|(t, root)| (t - root).num_milliseconds());
        TraceNode {
            read_models: self.rows.remove(&event.event_id).unwrap_or_default(),
            event,
            since_root_ms,
            children,
        }
    }
}

impl fmt::Display for TracedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.event_id)?;
        if self.synthetic_id {
            write!(f, " (no ce_id)")?;
        }
        let event_type = self.event_type.as_deref().unwrap_or("?");
        write!(
            f,
            "  {event_type}  {}/{}@{}",
            self.topic, self.partition, self.offset
        )?;
        if let Some(key) = &self.key {
            write!(f, "  key {key}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for root in &self.roots {
            write_node(f, root, "", "")?;
        }
        if self.truncated {
            writeln!(
                f,
                "… the chain is longer; only {} events shown",
                self.events
            )?;
        }
        Ok(())
    }
}

fn write_node(
    f: &mut fmt::Formatter<'_>,
    node: &TraceNode,
    first: &str,
    rest: &str,
) -> fmt::Result {
    let since = node
        .since_root_ms
        .map_or_else(|| "+? ms".to_owned(), |ms| format!("+{ms} ms"));
    write!(f, "{first}{}  {since}", node.event)?;
    if let Some(source) = &node.event.source {
        write!(f, "  {source}")?;
    }
    if let Some(record) = &node.event.dlq_record {
        let by = node.event.dlq_processor.as_deref().unwrap_or("?");
        let why = node.event.dlq_error.as_deref().unwrap_or("?");
        write!(f, "  DEAD-LETTERED by {by} ({record}): {why}")?;
    }
    writeln!(f)?;
    let count = node.read_models.len() + node.children.len();
    for (n, item) in node
        .read_models
        .iter()
        .map(Item::Row)
        .chain(node.children.iter().map(Item::Node))
        .enumerate()
    {
        let (branch, cont) = if n + 1 == count {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        match item {
            Item::Row(row) => writeln!(f, "{rest}{branch}read model {}[{}]", row.table, row.key)?,
            Item::Node(child) => {
                write_node(
                    f,
                    child,
                    &format!("{rest}{branch}"),
                    &format!("{rest}{cont}"),
                )?;
            }
        }
    }
    Ok(())
}

enum Item<'a> {
    Row(&'a TouchedRow),
    Node(&'a TraceNode),
}

#[cfg(test)]
mod tests;
