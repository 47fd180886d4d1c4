//! The snapshot reports exactly the keyspace as it was when it started,
//! whatever changes run between its steps.

use std::collections::BTreeMap;

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::keyspace::{Entry, Keyspace, Value};

const DATABASES: usize = 2;

/// Every live entry of `keyspace` at `now_ms`, by (database, key).
fn contents(keyspace: &Keyspace, now_ms: u64) -> BTreeMap<(usize, Bytes), Entry> {
    let mut all = BTreeMap::new();
    for (index, db) in keyspace.dbs().iter().enumerate() {
        for (key, entry) in db.iter(now_ms) {
            all.insert((index, key.clone()), entry.clone());
        }
    }
    all
}

fn key(rng: &mut ChaCha8Rng, keys: u32) -> Vec<u8> {
    format!("k{}", rng.gen_range(0..keys)).into_bytes()
}

/// Applies one random change at Unix ms `now_ms`.
fn change(keyspace: &mut Keyspace, rng: &mut ChaCha8Rng, keys: u32, now_ms: u64) {
    let db = rng.gen_range(0..DATABASES);
    let k = key(rng, keys);
    let value = Value::String(Bytes::from(format!("v{}", rng.gen::<u16>())));
    match rng.gen_range(0..100) {
        0..=29 => {
            let ttl = rng.gen_bool(0.3).then(|| now_ms + rng.gen_range(0..20));
            keyspace.db(db).insert(&k, value, ttl);
        }
        30..=49 => {
            keyspace.db(db).remove(&k, now_ms);
        }
        50..=59 => {
            if let Some(Value::String(text)) = keyspace.db(db).value_mut(&k, now_ms) {
                let mut grown = text.to_vec();
                grown.push(b'+');
                *text = Bytes::from(grown);
            }
        }
        60..=69 => {
            let when = rng.gen_bool(0.5).then(|| now_ms + rng.gen_range(0..20));
            keyspace.db(db).set_expiry(&k, when, now_ms);
        }
        70..=79 => {
            keyspace.db(db).get(&k, now_ms);
        }
        80..=89 => {
            keyspace.db(db).active_expire(now_ms, 5);
        }
        90..=93 => {
            // Many removals shrink the table, many inserts grow it.
            for _ in 0..rng.gen_range(1..60) {
                let k = key(rng, keys);
                keyspace.db(db).remove(&k, now_ms);
            }
        }
        94..=96 => {
            for _ in 0..rng.gen_range(1..60) {
                let k = key(rng, keys);
                keyspace
                    .db(db)
                    .insert(&k, Value::String(Bytes::from_static(b"x")), None);
            }
        }
        97..=98 => keyspace.swap(0, 1),
        _ => keyspace.db(db).clear(),
    }
}

/// Runs one random history around a snapshot; returns the first
/// difference between what it reported and the keyspace at its start.
fn run(seed: u64, skip_capture: bool) -> Result<(), String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut keyspace = Keyspace::new(DATABASES, &mut rng);
    let keys = rng.gen_range(4..300);
    let mut now_ms = 1_000;
    for _ in 0..rng.gen_range(0..400) {
        change(&mut keyspace, &mut rng, keys, now_ms);
        now_ms += rng.gen_range(0..2);
    }
    let expected = contents(&keyspace, now_ms);
    assert!(keyspace.start_snapshot(now_ms));
    assert!(!keyspace.start_snapshot(now_ms), "one snapshot at a time");
    if skip_capture {
        for db in keyspace.dbs_mut() {
            if let Some(snapshot) = db.snapshot.as_deref_mut() {
                snapshot.skip_capture = true;
            }
        }
    }
    let mut reported: BTreeMap<(usize, Bytes), Entry> = BTreeMap::new();
    let mut duplicate = None;
    let slice = rng.gen_range(1..8);
    loop {
        for _ in 0..rng.gen_range(0..6) {
            change(&mut keyspace, &mut rng, keys, now_ms);
            now_ms += rng.gen_range(0..3);
        }
        let done = keyspace.snapshot_step(slice, &mut |db, key, entry| {
            let previous = reported.insert((db, Bytes::copy_from_slice(key)), entry.clone());
            if previous.is_some() {
                duplicate.get_or_insert((db, Bytes::copy_from_slice(key)));
            }
        });
        if done {
            break;
        }
    }
    assert!(!keyspace.snapshot_running());
    if let Some(twice) = duplicate {
        return Err(format!("seed {seed}: {twice:?} reported twice"));
    }
    for (place, entry) in &expected {
        match reported.get(place) {
            None => return Err(format!("seed {seed}: {place:?} missing")),
            Some(got) if got != entry => {
                return Err(format!("seed {seed}: {place:?} is {got:?}, was {entry:?}"))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = reported.keys().find(|place| !expected.contains_key(*place)) {
        return Err(format!("seed {seed}: {extra:?} did not exist at the start"));
    }
    Ok(())
}

#[test]
fn snapshot_reports_the_keyspace_as_it_was_at_the_start() {
    for seed in 0..1500 {
        if let Err(difference) = run(seed, false) {
            panic!("{difference}");
        }
    }
}

#[test]
fn a_snapshot_that_captures_nothing_before_changes_is_caught() {
    let caught = (0..200).filter(|&seed| run(seed, true).is_err()).count();
    assert!(
        caught > 100,
        "the planted bug was caught in only {caught} of 200 runs"
    );
}

#[test]
fn an_untouched_keyspace_is_reported_once_in_slices() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut keyspace = Keyspace::new(1, &mut rng);
    for index in 0..1000 {
        keyspace.db(0).insert(
            format!("key:{index}").as_bytes(),
            Value::String(Bytes::from_static(b"v")),
            None,
        );
    }
    assert!(keyspace.start_snapshot(0));
    let mut count = 0;
    let mut steps = 0;
    while !keyspace.snapshot_step(100, &mut |_, _, _| count += 1) {
        steps += 1;
    }
    assert_eq!(count, 1000);
    assert!(
        steps >= 9,
        "a step reports about 100 keys, not all ({steps} steps)"
    );
}
