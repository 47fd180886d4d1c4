//! Hash slots: which of Redis Cluster's 16384 slots a key belongs to, and
//! which shard owns a slot.
//!
//! A key's slot is CRC16 of the key — or of its `{hash tag}` — modulo
//! [`HASH_SLOTS`], exactly as Redis Cluster computes it (`CLUSTER KEYSLOT`),
//! so clients that co-locate keys with hash tags get the same guarantee here:
//! keys sharing a tag live on the same shard. Slots map to shards by
//! contiguous ranges ([`SlotMap`]). This module is pure arithmetic: it owns no
//! state and knows nothing of connections or the keyspace.

use crate::limits::{HASH_SLOTS, SHARDS_MAX};

/// CRC16-CCITT lookup table (polynomial 0x1021, MSB first), computed at
/// compile time.
const CRC16_TABLE: [u16; 256] = crc16_table();

const fn crc16_table() -> [u16; 256] {
    const POLYNOMIAL: u16 = 0x1021;
    let mut table = [0u16; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = (byte as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ POLYNOMIAL
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
}

/// CRC16-CCITT in its XModem variant (polynomial 0x1021, initial value 0, no
/// reflection, no final XOR), the checksum Redis Cluster uses for key slots.
///
/// Table-driven: O(n) in `bytes.len()`, one table lookup per byte.
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &byte| {
        let index = usize::from((crc >> 8) as u8 ^ byte);
        (crc << 8) ^ CRC16_TABLE[index]
    })
}

/// Redis Cluster hash slot of `key`, in `0..HASH_SLOTS`.
///
/// If the key contains a `{` followed later by a `}` with at least one byte
/// between them, only the bytes between the first `{` and the first `}` after
/// it are hashed (the hash tag); otherwise the whole key is. So
/// `{user1000}.following` and `{user1000}.followers` share a slot, while
/// `foo{}{bar}` hashes the whole key (its first tag is empty).
pub fn key_hash_slot(key: &[u8]) -> u16 {
    let hashed = hash_tag(key).unwrap_or(key);
    // HASH_SLOTS is a power of two (asserted in limits), so the mask is a mod.
    crc16(hashed) & (HASH_SLOTS as u16 - 1)
}

/// The non-empty bytes between the first `{` and the next `}`, if any.
fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&byte| byte == b'{')?;
    let after_open = &key[open + 1..];
    let close = after_open.iter().position(|&byte| byte == b'}')?;
    (close > 0).then(|| &after_open[..close])
}

/// Maps hash slots to shards by contiguous ranges: with `shard_count` shards,
/// slot `s` belongs to shard `s * shard_count / HASH_SLOTS`, so every shard
/// owns `HASH_SLOTS / shard_count` slots, give or take one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotMap {
    shard_count: usize,
}

impl SlotMap {
    /// A map over `shard_count` shards.
    ///
    /// # Panics
    ///
    /// If `shard_count` is not in `1..=SHARDS_MAX`: the shard count comes from
    /// validated configuration, so anything else is a bug.
    pub fn new(shard_count: usize) -> SlotMap {
        assert!(
            (1..=SHARDS_MAX).contains(&shard_count),
            "shard count {shard_count} outside 1..={SHARDS_MAX}"
        );
        SlotMap { shard_count }
    }

    /// Number of shards slots are spread over.
    pub fn shard_count(&self) -> usize {
        self.shard_count
    }

    /// The shard owning `slot`, in `0..shard_count`.
    ///
    /// # Panics
    ///
    /// If `slot >= HASH_SLOTS`: slots come from [`key_hash_slot`] or from
    /// callers that have already validated them.
    pub fn shard_of_slot(&self, slot: u16) -> usize {
        let slot = usize::from(slot);
        assert!(slot < HASH_SLOTS, "hash slot {slot} out of range");
        // Cannot overflow: HASH_SLOTS * SHARDS_MAX = 2^22.
        slot * self.shard_count / HASH_SLOTS
    }

    /// The shard owning `key`'s hash slot.
    pub fn shard_of_key(&self, key: &[u8]) -> usize {
        self.shard_of_slot(key_hash_slot(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_matches_the_xmodem_check_value() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(crc16(b""), 0);
    }

    /// Values from `CLUSTER KEYSLOT` on redis-server 7.0.15.
    #[test]
    fn key_hash_slot_matches_redis_cluster_keyslot() {
        let cases: [(&[u8], u16); 10] = [
            (b"foo", 12182),
            (b"bar", 5061),
            (b"hello", 866),
            (b"{user1000}.following", 3443),
            (b"{user1000}.followers", 3443),
            (b"foo{}{bar}", 8363),
            (b"foo{{bar}}zap", 4015),
            (b"foo{bar}{zap}", 5061),
            (b"{bar", 4015),
            (b"", 0),
        ];
        for (key, slot) in cases {
            assert_eq!(
                key_hash_slot(key),
                slot,
                "key {:?}",
                key.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn hash_tags_select_the_first_non_empty_tag_only() {
        assert_eq!(key_hash_slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") & 0x3FFF);
        assert_eq!(key_hash_slot(b"foo{{bar}}zap"), key_hash_slot(b"{bar"));
        assert_eq!(key_hash_slot(b"foo{bar}{zap}"), key_hash_slot(b"bar"));
        assert_eq!(key_hash_slot(b"a{b"), crc16(b"a{b") & 0x3FFF);
        assert_eq!(key_hash_slot(b"}x{y}"), key_hash_slot(b"y"));
    }

    #[test]
    fn every_slot_is_below_hash_slots() {
        for value in 0..100_000u32 {
            assert!(usize::from(key_hash_slot(&value.to_le_bytes())) < HASH_SLOTS);
        }
    }

    #[test]
    fn slot_map_ranges_are_monotonic_and_cover_every_shard() {
        for shard_count in 1..=8 {
            let map = SlotMap::new(shard_count);
            assert_eq!(map.shard_count(), shard_count);
            let mut previous = 0;
            let mut seen = vec![false; shard_count];
            for slot in 0..HASH_SLOTS as u16 {
                let shard = map.shard_of_slot(slot);
                assert!(shard >= previous && shard <= previous + 1);
                assert!(shard < shard_count);
                seen[shard] = true;
                previous = shard;
            }
            assert_eq!(map.shard_of_slot(0), 0);
            assert_eq!(map.shard_of_slot(HASH_SLOTS as u16 - 1), shard_count - 1);
            assert!(seen.iter().all(|&owned| owned));
        }
    }

    #[test]
    fn slot_map_supports_the_maximum_shard_count() {
        let map = SlotMap::new(SHARDS_MAX);
        assert_eq!(map.shard_of_slot(HASH_SLOTS as u16 - 1), SHARDS_MAX - 1);
    }

    #[test]
    fn shard_of_key_follows_the_key_slot() {
        let map = SlotMap::new(4);
        assert_eq!(map.shard_of_key(b"foo"), 12182 * 4 / HASH_SLOTS);
        assert_eq!(
            map.shard_of_key(b"{user1000}.following"),
            map.shard_of_key(b"{user1000}.followers")
        );
    }

    #[test]
    #[should_panic(expected = "shard count 0")]
    fn slot_map_rejects_zero_shards() {
        SlotMap::new(0);
    }

    #[test]
    #[should_panic(expected = "shard count 257")]
    fn slot_map_rejects_too_many_shards() {
        SlotMap::new(SHARDS_MAX + 1);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn shard_of_slot_rejects_slots_past_the_last() {
        SlotMap::new(2).shard_of_slot(HASH_SLOTS as u16);
    }
}
