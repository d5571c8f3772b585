//! [`CollectionKey`]: the identity of a collection in both stores.
//!
//! Users name collections; the stores never see the name. The metadata store
//! maps each name to a key drawn when the collection is created, and the
//! vector store keeps the collection's points under that key (a shard
//! directory, a Qdrant collection `<prefix><key>`, rows of the vector log).
//! A collection deleted and re-created under the same name therefore gets a
//! new key, and the old one's vectors can never come back into it.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A collection's stable key: a random UUID, written in its hyphenated form
/// wherever a store needs text (directory names, Qdrant collection names,
/// SQL text columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CollectionKey(Uuid);

impl CollectionKey {
    /// A new key for a collection being created.
    pub fn random() -> CollectionKey {
        CollectionKey(Uuid::new_v4())
    }

    pub fn from_uuid(id: Uuid) -> CollectionKey {
        CollectionKey(id)
    }

    pub fn uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for CollectionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for CollectionKey {
    type Err = uuid::Error;

    /// A key as written by [`Display`](fmt::Display); anything else (a
    /// directory or Qdrant collection ragd did not create) is an error.
    fn from_str(s: &str) -> Result<CollectionKey, uuid::Error> {
        Uuid::parse_str(s).map(CollectionKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_text() {
        let k = CollectionKey::random();
        let text = k.to_string();
        assert_eq!(text.len(), 36, "hyphenated: {text}");
        assert_eq!(text.parse::<CollectionKey>().unwrap(), k);
        assert!("not-a-key".parse::<CollectionKey>().is_err());
        assert!(".tmp".parse::<CollectionKey>().is_err());
    }
}
