//! Tests of the snapshot format (split from `snapshot.rs` to keep it short).
use super::*;
use crate::persist::rewrite::tests::{any_value, elements, hash_of, list_of, rng, set_of, zset_of};
use proptest::prelude::*;

const CREATED_MS: u64 = 1_700_000_000_123;

/// A loaded record: (database, key, entry).
type Record = (usize, Vec<u8>, Entry);

fn load_all(bytes: &[u8], db_count: usize) -> Result<(SnapshotInfo, Vec<Record>), SnapshotError> {
    let mut records = Vec::new();
    let info = load(bytes, db_count, &mut rng(), |db, key, entry| {
        records.push((db, key.to_vec(), entry));
    })?;
    Ok((info, records))
}

fn write_all(records: &[Record]) -> Vec<u8> {
    let mut writer = SnapshotWriter::new(2, 8, CREATED_MS);
    for (db, key, entry) in records {
        writer.entry(*db, key, entry);
    }
    writer.finish()
}

fn assert_same_records(loaded: &[Record], written: &[Record]) {
    assert_eq!(loaded.len(), written.len());
    for ((db, key, entry), (db_w, key_w, entry_w)) in loaded.iter().zip(written) {
        assert_eq!((db, key), (db_w, key_w));
        assert_eq!(
            entry.expire_at_ms(),
            entry_w.expire_at_ms(),
            "TTL of {key:?}"
        );
        assert_eq!(entry.value.canonical(), entry_w.value.canonical());
    }
}

fn string(bytes: &[u8]) -> Value {
    Value::String(Bytes::copy_from_slice(bytes))
}

/// One key of each type (several sizes and encodings) spread over 16
/// databases, some with TTLs.
fn sample() -> Vec<Record> {
    let values = [
        string(b""),
        string(b"\x00\r\n\xff"),
        string(&[7; 1000]),
        list_of(1),
        list_of(200),
        hash_of(3, 3),
        hash_of(600, 70),
        set_of(&[b"1".to_vec(), b"-5".to_vec()]),
        set_of(&elements(600)),
        zset_of(&[(b"m".to_vec(), 1.5)]),
        zset_of(&[(vec![1; 70], -0.0), (vec![2; 70], f64::NEG_INFINITY)]),
        zset_of(
            &elements(300)
                .into_iter()
                .map(|member| (member, 0.25))
                .collect::<Vec<_>>(),
        ),
    ];
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            let expire_at_ms = (index % 3 == 0).then_some(CREATED_MS + index as u64);
            let key = [b"key\x00".as_slice(), &[index as u8]].concat();
            (index * 7 % 16, key, Entry::new(value, expire_at_ms))
        })
        .collect()
}

#[test]
fn every_type_round_trips_across_16_databases() {
    let records = sample();
    let bytes = write_all(&records);
    let (info, loaded) = load_all(&bytes, 16).expect("loads");
    assert_eq!(
        info,
        SnapshotInfo {
            shard_index: 2,
            shard_count: 8,
            created_ms: CREATED_MS,
            record_count: records.len() as u64,
        }
    );
    assert_same_records(&loaded, &records);
    assert!(loaded.iter().any(|(db, ..)| *db == 15));
}

#[test]
fn a_skiplist_keeps_negative_zero_and_infinities_to_the_bit() {
    let pairs = [
        (vec![1; 70], -0.0),
        (vec![2; 70], f64::INFINITY),
        (vec![3; 70], 5e-324),
    ];
    let records = vec![(0, b"z".to_vec(), Entry::new(zset_of(&pairs), None))];
    let (_, loaded) = load_all(&write_all(&records), 1).expect("loads");
    let Value::ZSet(zset) = &loaded[0].2.value else {
        panic!("a sorted set")
    };
    for (member, score) in &pairs {
        assert_eq!(zset.score(member).map(f64::to_bits), Some(score.to_bits()));
    }
}

#[test]
fn an_empty_shard_is_a_header_and_a_trailer() {
    let bytes = SnapshotWriter::new(0, 1, CREATED_MS).finish();
    assert_eq!(bytes.len(), HEADER_BYTES + TRAILER_BYTES);
    let (info, loaded) = load_all(&bytes, 16).expect("loads");
    assert_eq!(info.record_count, 0);
    assert!(loaded.is_empty());
}

#[test]
fn chunks_taken_along_the_way_make_the_same_file() {
    let records = sample();
    let whole = write_all(&records);
    let mut writer = SnapshotWriter::new(2, 8, CREATED_MS);
    let mut chunked = writer.take_chunk();
    for (db, key, entry) in &records {
        writer.entry(*db, key, entry);
        assert!(writer.buffered_bytes() > 0);
        chunked.extend(writer.take_chunk());
        assert_eq!(writer.buffered_bytes(), 0);
    }
    assert_eq!(writer.record_count(), records.len() as u64);
    chunked.extend(writer.finish());
    assert_eq!(chunked, whole);
}

/// The format table in the module documentation, byte for byte.
#[test]
fn the_bytes_match_the_documented_format() {
    let mut writer = SnapshotWriter::new(1, 3, 0x0102_0304_0506_0708);
    writer.entry(200, b"k", &Entry::new(string(b"v"), Some(5)));
    let bytes = writer.finish();
    let mut expected = b"CKVSNAP\0".to_vec();
    expected.extend_from_slice(&[1, 0, 1, 0, 3, 0]);
    expected.extend_from_slice(&[8, 7, 6, 5, 4, 3, 2, 1]);
    expected.extend_from_slice(&[1, 1, 0xC8, 0x01, 1, b'k']); // string, expires, db 200, key
    expected.extend_from_slice(&[5, 0, 0, 0, 0, 0, 0, 0, 1, b'v']); // expire, value
    expected.extend_from_slice(&[0xFF, 1, 0, 0, 0, 0, 0, 0, 0]);
    expected.extend_from_slice(&checksum(&expected).to_le_bytes());
    assert_eq!(bytes, expected);
    // CRC-64/REDIS's published check value.
    assert_eq!(checksum(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
}

#[test]
fn any_changed_byte_is_refused_by_magic_version_or_checksum() {
    let bytes = write_all(&sample()[..6]);
    for index in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xFF] {
            let mut corrupt = bytes.clone();
            corrupt[index] ^= flip;
            let error = load_all(&corrupt, 16).expect_err("a changed byte is refused");
            match index {
                0..8 => assert_eq!(error, SnapshotError::BadMagic { offset: 0 }),
                8..10 => assert!(
                    matches!(error, SnapshotError::UnsupportedVersion { offset: 8, .. }),
                    "{error}"
                ),
                _ => assert!(
                    matches!(error, SnapshotError::ChecksumMismatch { offset, .. } if offset == bytes.len() - 8),
                    "byte {index}: {error}"
                ),
            }
        }
    }
}

#[test]
fn every_truncation_is_refused() {
    let bytes = write_all(&sample()[..4]);
    for end in 0..bytes.len() {
        let error = load_all(&bytes[..end], 16).expect_err("a truncated file is refused");
        if end < HEADER_BYTES + TRAILER_BYTES {
            assert_eq!(error, SnapshotError::Truncated { offset: end });
        } else {
            assert!(
                matches!(error, SnapshotError::ChecksumMismatch { offset, .. } if offset == end - 8),
                "{end}: {error}"
            );
        }
    }
}

#[test]
fn another_version_is_refused_even_with_a_valid_checksum() {
    let mut bytes = write_all(&sample()[..2]);
    bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
    reseal(&mut bytes);
    let error = load_all(&bytes, 16).expect_err("version 2");
    assert_eq!(
        error,
        SnapshotError::UnsupportedVersion {
            offset: 8,
            version: 2
        }
    );
    assert_eq!(
        error.to_string(),
        "unsupported snapshot format version 2 at offset 8 (this build reads version 1)"
    );
}

#[test]
fn a_database_index_beyond_the_servers_is_refused() {
    let records = vec![(15, b"k".to_vec(), Entry::new(string(b"v"), None))];
    let error = load_all(&write_all(&records), 4).expect_err("db 15 of 4");
    let offset = HEADER_BYTES + 2;
    assert_eq!(
        error,
        SnapshotError::DbOutOfRange {
            offset,
            db: 15,
            db_count: 4
        }
    );
    assert_eq!(
        error.to_string(),
        format!("database index 15 out of range at offset {offset} (the server has 4)")
    );
}

#[test]
fn duplicate_keys_reach_the_sink_in_file_order() {
    let records = vec![
        (0, b"k".to_vec(), Entry::new(string(b"old"), None)),
        (0, b"k".to_vec(), Entry::new(string(b"new"), None)),
    ];
    let (_, loaded) = load_all(&write_all(&records), 1).expect("loads");
    assert_same_records(&loaded, &records);
}

/// Recomputes the checksum in the last 8 bytes.
fn reseal(bytes: &mut [u8]) {
    let at = bytes.len() - 8;
    let sum = checksum(&bytes[..at]);
    bytes[at..].copy_from_slice(&sum.to_le_bytes());
}

/// A file with a valid header and checksum around hand-made records.
fn crafted(records: &[u8], stored_count: u64) -> Vec<u8> {
    let mut bytes = SnapshotWriter::new(0, 1, 0).take_chunk();
    bytes.extend_from_slice(records);
    bytes.push(END_MARKER);
    bytes.extend_from_slice(&stored_count.to_le_bytes());
    bytes.extend_from_slice(&[0; 8]);
    reseal(&mut bytes);
    bytes
}

/// Structural errors only a broken writer makes, each named with its
/// offset (`R` is where the first record starts).
#[test]
fn broken_structure_under_a_valid_checksum_is_named_with_its_offset() {
    const R: usize = HEADER_BYTES;
    let nan = f64::NAN.to_bits().to_le_bytes();
    let zero = [0; 8];
    let cases: Vec<(Vec<u8>, u64, SnapshotError)> = vec![
        (
            vec![9, 0, 0, 1, b'k'],
            1,
            SnapshotError::UnknownType { offset: R, tag: 9 },
        ),
        (
            vec![1, 2, 0, 1, b'k', 0],
            1,
            SnapshotError::BadFlags {
                offset: R + 1,
                flags: 2,
            },
        ),
        (
            vec![1, 0, 0x80, 0x00, 1, b'k', 0],
            1,
            SnapshotError::BadVarint { offset: R + 2 },
        ),
        (
            [&[1, 0][..], &[0xFF; 9], &[0x02, 1, b'k', 0]].concat(),
            1,
            SnapshotError::BadVarint { offset: R + 2 },
        ),
        (
            vec![1, 0, 0, 0x80, 0x80, 0x04],
            1,
            SnapshotError::TooLarge {
                offset: R + 3,
                declared: 65536,
                available: 0,
            },
        ),
        (
            vec![2, 0, 0, 1, b'k', 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
            1,
            SnapshotError::TooLarge {
                offset: R + 5,
                declared: u64::from(u32::MAX),
                available: 0,
            },
        ),
        (
            vec![2, 0, 0, 1, b'k', 0],
            1,
            SnapshotError::EmptyCollection { offset: R + 5 },
        ),
        (
            vec![4, 0, 0, 1, b'k', 2, 1, b'a', 1, b'a'],
            1,
            SnapshotError::DuplicateElement { offset: R + 8 },
        ),
        (
            vec![3, 0, 0, 1, b'k', 2, 1, b'f', 0, 1, b'f', 1, b'x'],
            1,
            SnapshotError::DuplicateElement { offset: R + 9 },
        ),
        (
            [&[5, 0, 0, 1, b'k', 1, 1, b'm'][..], &nan].concat(),
            1,
            SnapshotError::NanScore { offset: R + 8 },
        ),
        (
            [
                &[5, 0, 0, 1, b'k', 2, 1, b'm'][..],
                &zero,
                &[1, b'm'],
                &zero,
            ]
            .concat(),
            1,
            SnapshotError::DuplicateElement { offset: R + 16 },
        ),
        (
            vec![1, 1, 0, 1, b'k', 0, 0],
            1,
            SnapshotError::Truncated { offset: R + 5 },
        ),
        (
            vec![1, 0, 0, 1, b'k', 0],
            2,
            SnapshotError::RecordCountMismatch {
                offset: R + 7,
                stored: 2,
                found: 1,
            },
        ),
    ];
    for (records, stored_count, expected) in cases {
        let error = load_all(&crafted(&records, stored_count), 16).expect_err("refused");
        assert_eq!(error, expected, "{records:?}: {error}");
        assert!(error.to_string().contains(&error.offset().to_string()));
    }
}

#[test]
fn a_missing_end_marker_is_named() {
    let mut bytes = crafted(&[1, 0, 0, 1, b'k', 0], 1);
    let at = bytes.len() - TRAILER_BYTES;
    bytes[at] = 0xFE;
    reseal(&mut bytes);
    assert_eq!(
        load_all(&bytes, 16).expect_err("refused"),
        SnapshotError::MissingEndMarker {
            offset: at,
            found: 0xFE
        }
    );
}

#[test]
fn a_bad_shard_header_is_refused() {
    let mut bytes = SnapshotWriter::new(0, 1, 0).finish();
    bytes[10..12].copy_from_slice(&1u16.to_le_bytes());
    reseal(&mut bytes);
    assert_eq!(
        load_all(&bytes, 16).expect_err("shard 1 of 1"),
        SnapshotError::BadShard {
            offset: 10,
            shard_index: 1,
            shard_count: 1
        }
    );
}

#[test]
fn varints_round_trip_at_every_width() {
    for value in [
        0,
        1,
        127,
        128,
        16_383,
        16_384,
        u64::from(u32::MAX),
        u64::MAX - 1,
        u64::MAX,
    ] {
        let mut bytes = Vec::new();
        put_varint(&mut bytes, value);
        let mut reader = Reader {
            bytes: &bytes,
            position: 0,
        };
        assert_eq!(reader.varint(), Ok(value));
        assert_eq!(reader.position, bytes.len());
    }
}

proptest! {
    #[test]
    fn random_shards_round_trip(
        values in prop::collection::vec(
            (0usize..16, prop::collection::vec(any::<u8>(), 0..12), any_value(), prop::option::of(any::<u64>())),
            0..12,
        ),
    ) {
        let records: Vec<Record> = values
            .into_iter()
            .map(|(db, key, value, expire_at_ms)| (db, key, Entry::new(value, expire_at_ms)))
            .collect();
        let (info, loaded) = load_all(&write_all(&records), 16).expect("loads");
        prop_assert_eq!(info.record_count, records.len() as u64);
        assert_same_records(&loaded, &records);
    }
}
