//! Persistence: AOF and snapshots.
//!
//! Reserved for the durability work (AOF per shard, snapshots, recovery).
//! Nothing here yet: the server runs purely in memory.
