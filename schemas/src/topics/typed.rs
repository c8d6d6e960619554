//! A topic typed with the value it carries: [`Topic<V>`], and [`TopicValue`], what a value
//! type says about itself on the log (its CloudEvents `type` and the Avro record its topic's
//! schema is rooted at).
//!
//! The wire codec encodes and decodes through a `Topic<V>` (a `V` and nothing else), and the
//! envelope takes its `ce_type` from one, so a value on the wrong topic, a topic's records
//! read as another type, or a record with another topic's `ce_type` do not compile.

use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A value type that is the value of a topic.
///
/// Implemented by each topic's root event type (the Rust mirror of its root record), next
/// to the topic's constant in [`crate::topics`].
pub trait TopicValue: Serialize + DeserializeOwned {
    /// CloudEvents `type` (`ce_type`) of every record carrying such a value, e.g.
    /// `io.fleetlog.scooter.frame.v1`.
    const EVENT_TYPE: &'static str;
    /// Full name of the Avro record the topic's registered value schema is rooted at, e.g.
    /// `io.fleetlog.v1.RawFrame`.
    const RECORD: &'static str;
}

/// A topic name tied to the type `V` of its values.
///
/// The catalogue's topics are `Topic<'static, V>` constants ([`crate::topics::FRAMES`], …);
/// [`Topic::renamed`] gives a scratch topic (a test's or bench's own) carrying the same type.
pub struct Topic<'n, V> {
    name: &'n str,
    _value: PhantomData<fn() -> V>,
}

impl<'n, V> Topic<'n, V> {
    /// The topic `name` carrying values of type `V`; the catalogue's constants are the only
    /// callers, so a name has one type.
    pub(crate) const fn new(name: &'n str) -> Self {
        Self {
            name,
            _value: PhantomData,
        }
    }

    /// The topic's name, e.g. `scooter.frames.v1`.
    pub const fn name(&self) -> &'n str {
        self.name
    }

    /// A topic named `name` carrying the same values: a test's or bench's scratch topic
    /// whose subject has this topic's value schema registered.
    pub const fn renamed<'m>(&self, name: &'m str) -> Topic<'m, V> {
        Topic::new(name)
    }

    /// The Schema Registry subject of its values: `<topic>-value` (TopicNameStrategy).
    pub fn subject(&self) -> String {
        crate::catalog::value_subject(self.name)
    }

    /// Its dead-letter topic: `<topic>.dlq.v1`.
    pub fn dlq(&self) -> String {
        super::dlq(self.name)
    }
}

impl<'n, V: TopicValue> Topic<'n, V> {
    /// The CloudEvents `type` of its records: [`TopicValue::EVENT_TYPE`] of `V`.
    pub const fn event_type(&self) -> &'static str {
        V::EVENT_TYPE
    }

    /// Full name of the Avro record its value schema is rooted at.
    pub const fn record(&self) -> &'static str {
        V::RECORD
    }
}

impl<V: TopicValue> Topic<'static, V> {
    /// This topic with its value type erased, for the catalogue.
    pub const fn info(&self) -> TopicInfo {
        TopicInfo {
            name: self.name,
            event_type: V::EVENT_TYPE,
            record: V::RECORD,
        }
    }
}

// Derives would require `V: Clone` etc.; a topic is a name whatever its value type.
impl<V> Clone for Topic<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Topic<'_, V> {}

impl<V> PartialEq for Topic<'_, V> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl<V> Eq for Topic<'_, V> {}

impl<V> fmt::Debug for Topic<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Topic")
            .field(&self.name)
            .field(&std::any::type_name::<V>())
            .finish()
    }
}

/// A catalogued topic with its value type erased: what lists of every topic hold
/// ([`crate::topics::CATALOGUE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicInfo {
    /// Topic name.
    pub name: &'static str,
    /// CloudEvents `type` of its records.
    pub event_type: &'static str,
    /// Full name of the Avro record its value schema is rooted at.
    pub record: &'static str,
}

impl TopicInfo {
    /// The Schema Registry subject of its values: `<topic>-value`.
    pub fn subject(&self) -> String {
        crate::catalog::value_subject(self.name)
    }
}
