//! A versioned, checksummed snapshot of one shard's keyspace: the bytes, and
//! how to write and load them. Pure: byte slices in, values out — no files,
//! no clock, no [`Platform`](crate::platform::Platform); the caller writes
//! and reads the file through the Platform.
//!
//! # Format (version 1)
//!
//! A header, one record per key, then a fixed-size trailer. Integers are
//! little-endian. A *varint* is an unsigned LEB128 number (7 bits per byte,
//! low groups first, high bit set on every byte but the last) of at most 10
//! bytes, in its shortest form, at most `u64::MAX`. *bytes* is a varint
//! length followed by that many bytes.
//!
//! Header, 22 bytes:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `CKVSNAP\0` ([`MAGIC`]) |
//! | 8 | 2 | format version, u16 ([`FORMAT_VERSION`]) |
//! | 10 | 2 | shard index, u16 (< shard count) |
//! | 12 | 2 | shard count, u16 (≥ 1) |
//! | 14 | 8 | creation time, Unix ms, u64 |
//!
//! Record, one per key:
//!
//! | size | field |
//! |---|---|
//! | 1 | value type: 1 string, 2 list, 3 hash, 4 set, 5 sorted set |
//! | 1 | flags: bit 0 set = an expire time follows the key; other bits 0 |
//! | varint | database index (< the loader's database count) |
//! | bytes | key |
//! | 8 | expire time, Unix ms, u64 — only with flag bit 0 |
//! | … | payload |
//!
//! Payload by type — a count is a varint ≥ 1 (empty collections are never
//! stored), and members of a set, fields of a hash and members of a sorted
//! set are distinct:
//!
//! | type | payload |
//! |---|---|
//! | string | bytes |
//! | list | count, then count × bytes, head to tail |
//! | hash | count, then count × (field bytes, value bytes), iteration order |
//! | set | count, then count × member bytes |
//! | sorted set | count, then count × (member bytes, score as `f64` bits u64), ascending; never NaN |
//!
//! Trailer, 17 bytes, the last in the file:
//!
//! | size | field |
//! |---|---|
//! | 1 | end marker `0xFF` |
//! | 8 | record count, u64 |
//! | 8 | checksum, u64: CRC-64/REDIS (Redis's RDB checksum, Jones polynomial) of every byte before it |
//!
//! The checksum sits at a fixed place (the last 8 bytes), so [`load`]
//! verifies the whole file before it hands a single record to its caller: a
//! torn or corrupted file is refused before anything is built from it.
//!
//! # Choices
//!
//! * **Duplicate keys** are not detected by [`load`]: the writer never
//!   produces them (keys come from one dictionary), the checksum guards
//!   against corruption, and finding them would need a set of every key. The
//!   sink sees each record; one that inserts into a
//!   [`Db`](crate::keyspace::Db) keeps the later.
//! * **Expired keys** load with their expire time; the keyspace expires
//!   them lazily or actively as usual.
//! * **Copies, not slices, of values.** Keys reach the sink as slices of the
//!   input (the database copies what it keeps), but every value is copied
//!   into its own exact-size allocation: a `Bytes` slice of the snapshot
//!   would keep the whole file in memory for as long as one value lived.
//! * **Bounded allocation.** Every length and count is checked against the
//!   bytes left before anything is allocated (an element costs at least one
//!   input byte, a sorted set member nine), so memory is a constant factor
//!   of the input's size whatever the input claims.
//! * A value being written or loaded is whole in memory: the writer streams
//!   between entries ([`SnapshotWriter::take_chunk`]), not inside one.

use std::fmt;

use bytes::Bytes;
use crc::{Crc, Digest, Table, CRC_64_REDIS};
use rand::RngCore;

use crate::keyspace::hash::Hash;
use crate::keyspace::list::{End, List};
use crate::keyspace::set::Set;
use crate::keyspace::zset::ZSet;
use crate::keyspace::{Entry, Value};

/// The first 8 bytes of every snapshot.
pub const MAGIC: [u8; 8] = *b"CKVSNAP\0";

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;

/// Bytes of the header (magic, version, shard index, shard count, creation time).
pub const HEADER_BYTES: usize = 8 + 2 + 2 + 2 + 8;

/// Bytes of the trailer (end marker, record count, checksum).
pub const TRAILER_BYTES: usize = 1 + 8 + 8;

/// The byte that opens the trailer.
const END_MARKER: u8 = 0xFF;

/// Record flag: an expire time follows the key.
const FLAG_EXPIRES: u8 = 1;

/// Longest varint (bytes): 64 bits in 7-bit groups.
const VARINT_BYTES_MAX: usize = 10;

/// Fewest input bytes one element of a collection takes: its length varint.
const ELEMENT_BYTES_MIN: usize = 1;

/// Fewest input bytes one sorted set element takes: length varint and score.
const ZSET_ELEMENT_BYTES_MIN: usize = 1 + 8;

/// Fewest input bytes one hash element takes: two length varints.
const HASH_ELEMENT_BYTES_MIN: usize = 2;

/// The checksum: CRC-64/REDIS, slice-by-16 tables (32 KiB, built at compile time).
static CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// The snapshot checksum (CRC-64/REDIS) of `bytes`; a snapshot stores that
/// of everything before its last 8 bytes in those bytes.
pub fn checksum(bytes: &[u8]) -> u64 {
    CRC64.checksum(bytes)
}

/// The value type tags of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ValueType {
    String = 1,
    List = 2,
    Hash = 3,
    Set = 4,
    ZSet = 5,
}

impl ValueType {
    fn of(value: &Value) -> ValueType {
        match value {
            Value::String(_) => ValueType::String,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
        }
    }

    fn from_tag(tag: u8) -> Option<ValueType> {
        [
            ValueType::String,
            ValueType::List,
            ValueType::Hash,
            ValueType::Set,
            ValueType::ZSet,
        ]
        .into_iter()
        .find(|kind| *kind as u8 == tag)
    }
}

/// Writes a snapshot as a stream: the header at creation, one record per
/// [`SnapshotWriter::entry`], the trailer at [`SnapshotWriter::finish`].
/// Bytes accumulate in a buffer the caller empties with
/// [`SnapshotWriter::take_chunk`] whenever it likes (e.g. once
/// [`SnapshotWriter::buffered_bytes`] passes a megabyte), so a large
/// snapshot never sits whole in memory. The checksum runs over each chunk
/// as it is taken.
pub struct SnapshotWriter {
    buffer: Vec<u8>,
    digest: Digest<'static, u64, Table<16>>,
    record_count: u64,
}

impl fmt::Debug for SnapshotWriter {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SnapshotWriter")
            .field("buffered_bytes", &self.buffer.len())
            .field("record_count", &self.record_count)
            .finish_non_exhaustive()
    }
}

impl SnapshotWriter {
    /// A snapshot of shard `shard_index` of `shard_count`, created at
    /// `created_ms` (Unix ms, from the Platform's clock). Panics unless
    /// `shard_index < shard_count <= u16::MAX` (the server caps shards at
    /// [`SHARDS_MAX`](crate::limits::SHARDS_MAX)).
    pub fn new(shard_index: usize, shard_count: usize, created_ms: u64) -> SnapshotWriter {
        assert!(
            shard_index < shard_count,
            "shard {shard_index} of {shard_count}"
        );
        let shard_index = u16::try_from(shard_index).expect("shard index fits u16");
        let shard_count = u16::try_from(shard_count).expect("shard count fits u16");
        let mut buffer = Vec::with_capacity(HEADER_BYTES);
        buffer.extend_from_slice(&MAGIC);
        buffer.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        buffer.extend_from_slice(&shard_index.to_le_bytes());
        buffer.extend_from_slice(&shard_count.to_le_bytes());
        buffer.extend_from_slice(&created_ms.to_le_bytes());
        assert_eq!(buffer.len(), HEADER_BYTES);
        SnapshotWriter {
            buffer,
            digest: CRC64.digest(),
            record_count: 0,
        }
    }

    /// Appends the record of `key` in database `db`. Panics if `entry`
    /// holds an empty collection (the keyspace never stores one). The caller
    /// skips expired entries if it wants them gone ([`Db::iter`] does).
    ///
    /// [`Db::iter`]: crate::keyspace::Db::iter
    pub fn entry(&mut self, db: usize, key: &[u8], entry: &Entry) {
        let out = &mut self.buffer;
        out.push(ValueType::of(&entry.value) as u8);
        let expire_at_ms = entry.expire_at_ms();
        out.push(if expire_at_ms.is_some() {
            FLAG_EXPIRES
        } else {
            0
        });
        put_varint(out, db as u64);
        put_bytes(out, key);
        if let Some(expire_at_ms) = expire_at_ms {
            out.extend_from_slice(&expire_at_ms.to_le_bytes());
        }
        put_value(out, &entry.value);
        self.record_count += 1;
    }

    /// Bytes written since the last [`SnapshotWriter::take_chunk`].
    pub fn buffered_bytes(&self) -> usize {
        self.buffer.len()
    }

    /// Records written so far.
    pub fn record_count(&self) -> u64 {
        self.record_count
    }

    /// Takes the bytes written so far (the next slice of the file).
    #[must_use]
    pub fn take_chunk(&mut self) -> Vec<u8> {
        self.digest.update(&self.buffer);
        std::mem::take(&mut self.buffer)
    }

    /// The last slice of the file: whatever was not taken yet, then the
    /// trailer (end marker, record count, checksum).
    #[must_use]
    pub fn finish(mut self) -> Vec<u8> {
        self.buffer.push(END_MARKER);
        self.buffer
            .extend_from_slice(&self.record_count.to_le_bytes());
        self.digest.update(&self.buffer);
        let checksum = self.digest.finalize();
        self.buffer.extend_from_slice(&checksum.to_le_bytes());
        self.buffer
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7F) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_count(out: &mut Vec<u8>, count: usize) {
    assert!(count > 0, "an empty collection is never stored");
    put_varint(out, count as u64);
}

fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(bytes) => put_bytes(out, bytes),
        Value::List(list) => {
            put_count(out, list.len());
            list.iter().for_each(|item| put_bytes(out, item));
        }
        Value::Hash(hash) => {
            put_count(out, hash.len());
            for (field, value) in hash.iter() {
                put_bytes(out, field);
                put_bytes(out, value);
            }
        }
        Value::Set(set) => {
            put_count(out, set.len());
            set.iter().for_each(|member| put_bytes(out, &member));
        }
        Value::ZSet(zset) => {
            put_count(out, zset.len());
            for (member, score) in zset.iter() {
                put_bytes(out, &member);
                out.extend_from_slice(&score.to_bits().to_le_bytes());
            }
        }
    }
}

/// What a loaded snapshot says about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The shard that wrote it.
    pub shard_index: usize,
    /// How many shards the server that wrote it had.
    pub shard_count: usize,
    /// When it was created (Unix ms).
    pub created_ms: u64,
    /// Records (keys) it holds.
    pub record_count: u64,
}

/// Why a snapshot was refused. Every variant names the byte offset (from
/// the start of the file) where the problem was found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The file does not start with [`MAGIC`].
    BadMagic {
        /// Always 0.
        offset: usize,
    },
    /// A format version this build cannot read.
    UnsupportedVersion {
        /// Where the version is (8).
        offset: usize,
        /// The version found.
        version: u16,
    },
    /// The input ends in the middle of a field (or before the trailer).
    Truncated {
        /// Where the incomplete field starts (or the input's length).
        offset: usize,
    },
    /// The stored checksum differs from the one computed: the file is
    /// corrupt or truncated.
    ChecksumMismatch {
        /// Where the stored checksum is.
        offset: usize,
        /// The checksum stored in the file.
        stored: u64,
        /// The checksum of the bytes before it.
        computed: u64,
    },
    /// The shard index is not below the shard count, or the count is 0.
    BadShard {
        /// Where the shard index is (10).
        offset: usize,
        /// The shard index found.
        shard_index: u16,
        /// The shard count found.
        shard_count: u16,
    },
    /// A record's value type is none of the known tags.
    UnknownType {
        /// Where the tag is.
        offset: usize,
        /// The tag found.
        tag: u8,
    },
    /// A record's flags have unknown bits set.
    BadFlags {
        /// Where the flags are.
        offset: usize,
        /// The flags found.
        flags: u8,
    },
    /// A varint is longer than 10 bytes, exceeds `u64::MAX` or is not in
    /// its shortest form.
    BadVarint {
        /// Where the varint starts.
        offset: usize,
    },
    /// A record's database index is not below the database count.
    DbOutOfRange {
        /// Where the database index is.
        offset: usize,
        /// The index found.
        db: u64,
        /// The databases the loader has.
        db_count: usize,
    },
    /// A length or element count larger than the bytes left could hold.
    TooLarge {
        /// Where the length or count is.
        offset: usize,
        /// The length (bytes) or count (elements) found.
        declared: u64,
        /// Bytes left before the trailer.
        available: usize,
    },
    /// A collection with no element (the keyspace never stores one).
    EmptyCollection {
        /// Where the count is.
        offset: usize,
    },
    /// A set member, hash field or sorted set member seen twice in one value.
    DuplicateElement {
        /// Where the second occurrence starts.
        offset: usize,
    },
    /// A sorted set score that is NaN.
    NanScore {
        /// Where the score is.
        offset: usize,
    },
    /// The byte after the last record is not the end marker.
    MissingEndMarker {
        /// Where the end marker should be.
        offset: usize,
        /// The byte found.
        found: u8,
    },
    /// The trailer's record count differs from the records read.
    RecordCountMismatch {
        /// Where the stored count is.
        offset: usize,
        /// The count in the trailer.
        stored: u64,
        /// The records read.
        found: u64,
    },
}

impl SnapshotError {
    /// The byte offset where the problem was found.
    pub fn offset(&self) -> usize {
        match *self {
            SnapshotError::BadMagic { offset }
            | SnapshotError::UnsupportedVersion { offset, .. }
            | SnapshotError::Truncated { offset }
            | SnapshotError::ChecksumMismatch { offset, .. }
            | SnapshotError::BadShard { offset, .. }
            | SnapshotError::UnknownType { offset, .. }
            | SnapshotError::BadFlags { offset, .. }
            | SnapshotError::BadVarint { offset }
            | SnapshotError::DbOutOfRange { offset, .. }
            | SnapshotError::TooLarge { offset, .. }
            | SnapshotError::EmptyCollection { offset }
            | SnapshotError::DuplicateElement { offset }
            | SnapshotError::NanScore { offset }
            | SnapshotError::MissingEndMarker { offset, .. }
            | SnapshotError::RecordCountMismatch { offset, .. } => offset,
        }
    }
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SnapshotError::BadMagic { offset } => {
                write!(f, "not a corekv snapshot: bad magic at offset {offset}")
            }
            SnapshotError::UnsupportedVersion { offset, version } => write!(
                f,
                "unsupported snapshot format version {version} at offset {offset} (this build reads version {FORMAT_VERSION})"
            ),
            SnapshotError::Truncated { offset } => {
                write!(f, "snapshot truncated at offset {offset}")
            }
            SnapshotError::ChecksumMismatch {
                offset,
                stored,
                computed,
            } => write!(
                f,
                "snapshot checksum mismatch at offset {offset}: stored {stored:#018x}, computed {computed:#018x} (corrupt or truncated file)"
            ),
            SnapshotError::BadShard {
                offset,
                shard_index,
                shard_count,
            } => write!(
                f,
                "bad shard at offset {offset}: index {shard_index} of {shard_count} shards"
            ),
            SnapshotError::UnknownType { offset, tag } => {
                write!(f, "unknown value type {tag} at offset {offset}")
            }
            SnapshotError::BadFlags { offset, flags } => {
                write!(f, "unknown record flags {flags:#04x} at offset {offset}")
            }
            SnapshotError::BadVarint { offset } => {
                write!(f, "malformed varint at offset {offset}")
            }
            SnapshotError::DbOutOfRange {
                offset,
                db,
                db_count,
            } => write!(
                f,
                "database index {db} out of range at offset {offset} (the server has {db_count})"
            ),
            SnapshotError::TooLarge {
                offset,
                declared,
                available,
            } => write!(
                f,
                "value too large at offset {offset}: {declared} declared, only {available} bytes left"
            ),
            SnapshotError::EmptyCollection { offset } => {
                write!(f, "empty collection at offset {offset}")
            }
            SnapshotError::DuplicateElement { offset } => {
                write!(f, "duplicate element at offset {offset}")
            }
            SnapshotError::NanScore { offset } => {
                write!(f, "sorted set score is NaN at offset {offset}")
            }
            SnapshotError::MissingEndMarker { offset, found } => write!(
                f,
                "expected the end marker at offset {offset}, found {found:#04x}"
            ),
            SnapshotError::RecordCountMismatch {
                offset,
                stored,
                found,
            } => write!(
                f,
                "record count mismatch at offset {offset}: trailer says {stored}, found {found}"
            ),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// Verifies `bytes` as a whole snapshot — magic, version, checksum, header —
/// then reads its records, calling `sink(db, key, entry)` for each in file
/// order. `db_count` is the number of databases the caller has (a record
/// for another index is an error); `rng` seeds the hash tables of loaded
/// collections (from the Platform, so the simulator seed fixes their
/// iteration order).
///
/// Corruption and truncation are caught by the checksum before the sink
/// sees anything. A file with a valid checksum but a broken structure
/// (which only a buggy or malicious writer produces) may have fed the sink
/// some records before the error: the caller discards what it loaded.
/// Never panics, whatever `bytes` holds.
pub fn load(
    bytes: &[u8],
    db_count: usize,
    rng: &mut dyn RngCore,
    mut sink: impl FnMut(usize, &[u8], Entry),
) -> Result<SnapshotInfo, SnapshotError> {
    let mut info = check_header(bytes)?;
    let records_end = bytes.len() - TRAILER_BYTES;
    let mut reader = Reader {
        bytes: &bytes[..records_end],
        position: HEADER_BYTES,
    };
    let mut record_count: u64 = 0;
    while reader.position < records_end {
        let (db, key, entry) = read_record(&mut reader, db_count, rng)?;
        sink(db, key, entry);
        record_count += 1;
    }
    let mut trailer = Reader {
        bytes,
        position: records_end,
    };
    let found = trailer.u8()?;
    if found != END_MARKER {
        return Err(SnapshotError::MissingEndMarker {
            offset: records_end,
            found,
        });
    }
    let stored = trailer.u64()?;
    if stored != record_count {
        return Err(SnapshotError::RecordCountMismatch {
            offset: records_end + 1,
            stored,
            found: record_count,
        });
    }
    info.record_count = record_count;
    Ok(info)
}

/// Checks magic, version, length, checksum and shard fields; returns the
/// header's information (record count still 0).
fn check_header(bytes: &[u8]) -> Result<SnapshotInfo, SnapshotError> {
    let magic_seen = bytes.len().min(MAGIC.len());
    if bytes[..magic_seen] != MAGIC[..magic_seen] {
        return Err(SnapshotError::BadMagic { offset: 0 });
    }
    if bytes.len() < MAGIC.len() + 2 {
        return Err(SnapshotError::Truncated {
            offset: bytes.len(),
        });
    }
    let mut header = Reader {
        bytes,
        position: MAGIC.len(),
    };
    let version = header.u16()?;
    if version != FORMAT_VERSION {
        return Err(SnapshotError::UnsupportedVersion {
            offset: MAGIC.len(),
            version,
        });
    }
    if bytes.len() < HEADER_BYTES + TRAILER_BYTES {
        return Err(SnapshotError::Truncated {
            offset: bytes.len(),
        });
    }
    let checksum_at = bytes.len() - 8;
    let stored = Reader {
        bytes,
        position: checksum_at,
    }
    .u64()?;
    let computed = checksum(&bytes[..checksum_at]);
    if stored != computed {
        return Err(SnapshotError::ChecksumMismatch {
            offset: checksum_at,
            stored,
            computed,
        });
    }
    let shard_index = header.u16()?;
    let shard_count = header.u16()?;
    if shard_index >= shard_count {
        return Err(SnapshotError::BadShard {
            offset: MAGIC.len() + 2,
            shard_index,
            shard_count,
        });
    }
    Ok(SnapshotInfo {
        shard_index: usize::from(shard_index),
        shard_count: usize::from(shard_count),
        created_ms: header.u64()?,
        record_count: 0,
    })
}

/// A cursor over the input; every read is bounds-checked and reports the
/// offset it started at.
struct Reader<'a> {
    /// The input up to the end of the region being read.
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], SnapshotError> {
        let start = self.position;
        let taken = start
            .checked_add(count)
            .and_then(|end| self.bytes.get(start..end))
            .ok_or(SnapshotError::Truncated { offset: start })?;
        self.position += count;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        let start = self.position;
        self.take(N)?
            .try_into()
            .map_err(|_| SnapshotError::Truncated { offset: start })
    }

    fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, SnapshotError> {
        self.array().map(u16::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, SnapshotError> {
        self.array().map(u64::from_le_bytes)
    }

    /// An unsigned LEB128 varint in its shortest form.
    fn varint(&mut self) -> Result<u64, SnapshotError> {
        let start = self.position;
        let mut value: u64 = 0;
        for index in 0..VARINT_BYTES_MAX {
            let byte = self.u8()?;
            let group = u64::from(byte & 0x7F);
            let shift = 7 * index as u32;
            // The tenth byte holds bit 63 only; a zero last group (after the
            // first byte) means the encoding was longer than needed.
            let overflows = index == VARINT_BYTES_MAX - 1 && group > 1;
            let overlong = index > 0 && byte == 0;
            if overflows || overlong {
                return Err(SnapshotError::BadVarint { offset: start });
            }
            value |= group << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(SnapshotError::BadVarint { offset: start })
    }

    /// A length or count, refused if the bytes left cannot hold that many
    /// units of `unit_bytes_min` bytes each — checked before the caller
    /// allocates anything for it.
    fn length(&mut self, unit_bytes_min: usize) -> Result<usize, SnapshotError> {
        let start = self.position;
        let declared = self.varint()?;
        let available = self.remaining();
        match usize::try_from(declared) {
            Ok(units) if units <= available / unit_bytes_min => Ok(units),
            _ => Err(SnapshotError::TooLarge {
                offset: start,
                declared,
                available,
            }),
        }
    }

    /// A varint length, then that many bytes.
    fn bytes(&mut self) -> Result<&'a [u8], SnapshotError> {
        let length = self.length(1)?;
        self.take(length)
    }

    /// A collection's element count: at least 1, at most what is left.
    fn count(&mut self, element_bytes_min: usize) -> Result<usize, SnapshotError> {
        let start = self.position;
        match self.length(element_bytes_min)? {
            0 => Err(SnapshotError::EmptyCollection { offset: start }),
            count => Ok(count),
        }
    }
}

/// One record: (database index, key, entry).
fn read_record<'a>(
    reader: &mut Reader<'a>,
    db_count: usize,
    rng: &mut dyn RngCore,
) -> Result<(usize, &'a [u8], Entry), SnapshotError> {
    let tag_at = reader.position;
    let tag = reader.u8()?;
    let kind = ValueType::from_tag(tag).ok_or(SnapshotError::UnknownType {
        offset: tag_at,
        tag,
    })?;
    let flags_at = reader.position;
    let flags = reader.u8()?;
    if flags & !FLAG_EXPIRES != 0 {
        return Err(SnapshotError::BadFlags {
            offset: flags_at,
            flags,
        });
    }
    let db_at = reader.position;
    let db = reader.varint()?;
    let db = match usize::try_from(db) {
        Ok(index) if index < db_count => index,
        _ => {
            return Err(SnapshotError::DbOutOfRange {
                offset: db_at,
                db,
                db_count,
            })
        }
    };
    let key = reader.bytes()?;
    let expire_at_ms = match flags & FLAG_EXPIRES {
        0 => None,
        _ => Some(reader.u64()?),
    };
    let value = read_value(reader, kind, rng)?;
    Ok((db, key, Entry::new(value, expire_at_ms)))
}

/// A record's payload, copied out of the input element by element.
fn read_value(
    reader: &mut Reader<'_>,
    kind: ValueType,
    rng: &mut dyn RngCore,
) -> Result<Value, SnapshotError> {
    let value = match kind {
        ValueType::String => Value::String(Bytes::copy_from_slice(reader.bytes()?)),
        ValueType::List => {
            let mut list = List::new();
            for _ in 0..reader.count(ELEMENT_BYTES_MIN)? {
                list.push(End::Tail, Bytes::copy_from_slice(reader.bytes()?));
            }
            Value::List(Box::new(list))
        }
        ValueType::Hash => {
            let mut hash = Hash::new();
            for _ in 0..reader.count(HASH_ELEMENT_BYTES_MIN)? {
                let field_at = reader.position;
                let field = reader.bytes()?;
                let value = reader.bytes()?;
                if !hash.insert(field, value, rng) {
                    return Err(SnapshotError::DuplicateElement { offset: field_at });
                }
            }
            Value::Hash(Box::new(hash))
        }
        ValueType::Set => {
            let mut set = Set::new();
            for _ in 0..reader.count(ELEMENT_BYTES_MIN)? {
                let member_at = reader.position;
                if !set.insert(reader.bytes()?, rng) {
                    return Err(SnapshotError::DuplicateElement { offset: member_at });
                }
            }
            Value::Set(Box::new(set))
        }
        ValueType::ZSet => Value::ZSet(Box::new(read_zset(reader, rng)?)),
    };
    Ok(value)
}

fn read_zset(reader: &mut Reader<'_>, rng: &mut dyn RngCore) -> Result<ZSet, SnapshotError> {
    let mut zset = ZSet::new();
    for _ in 0..reader.count(ZSET_ELEMENT_BYTES_MIN)? {
        let member_at = reader.position;
        let member = reader.bytes()?;
        let score_at = reader.position;
        let score = f64::from_bits(reader.u64()?);
        if score.is_nan() {
            return Err(SnapshotError::NanScore { offset: score_at });
        }
        if !zset.set_score(member, score, rng) {
            return Err(SnapshotError::DuplicateElement { offset: member_at });
        }
    }
    Ok(zset)
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
