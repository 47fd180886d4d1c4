//! Values compared by content, whatever their encoding: what tests, the
//! fuzzers and the simulator's durability checker compare a recovered or
//! rebuilt value by.

use bytes::Bytes;

use super::Value;

/// A value in a form that compares equal exactly when two values hold the
/// same data, whatever their encodings: hash pairs and set members sorted,
/// lists and sorted sets in their own order, scores as bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CanonicalValue {
    /// A string's bytes.
    String(Bytes),
    /// A list's items, head to tail.
    List(Vec<Bytes>),
    /// A hash's (field, value) pairs, sorted by field.
    Hash(Vec<(Bytes, Bytes)>),
    /// A set's members, sorted.
    Set(Vec<Bytes>),
    /// A sorted set's (member, score bits), ascending. A `-0` score counts
    /// as `0`: a `listpack` sorted set stores it so (see
    /// [`crate::keyspace::zset`]), and a rebuilt set may change encoding.
    ZSet(Vec<(Bytes, u64)>),
}

impl Value {
    /// This value as a [`CanonicalValue`].
    pub fn canonical(&self) -> CanonicalValue {
        let copy = |bytes: &[u8]| Bytes::copy_from_slice(bytes);
        match self {
            Value::String(bytes) => CanonicalValue::String(bytes.clone()),
            Value::List(list) => CanonicalValue::List(list.iter().cloned().collect()),
            Value::Hash(hash) => {
                let mut pairs: Vec<(Bytes, Bytes)> = hash
                    .iter()
                    .map(|(field, value)| (copy(field), copy(value)))
                    .collect();
                pairs.sort();
                CanonicalValue::Hash(pairs)
            }
            Value::Set(set) => {
                let mut members: Vec<Bytes> = set.iter().collect();
                members.sort();
                CanonicalValue::Set(members)
            }
            Value::ZSet(zset) => CanonicalValue::ZSet(
                zset.iter()
                    .map(|(member, score)| (member, (score + 0.0).to_bits()))
                    .collect(),
            ),
        }
    }
}
