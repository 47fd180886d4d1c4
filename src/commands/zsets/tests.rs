//! Unit tests of the sorted set commands over a real keyspace. Expected
//! replies were checked against redis-server 7.0.15;
//! tests/differential_zsets.rs compares against it live.

use crate::commands::sets::tests::{bulk, bulks, error, Fixture};
use crate::resp::Reply;

fn zsets() -> Fixture {
    Fixture::new(super::COMMANDS)
}

/// WITHSCORES replies: pairs (nested for RESP3 clients, flat for RESP2).
fn scored(pairs: &[(&str, f64)]) -> Reply {
    Reply::Pairs(
        pairs
            .iter()
            .map(|(member, score)| (bulk(member), Reply::Double(*score)))
            .collect(),
    )
}

/// ZPOPMIN/ZPOPMAX without a count: one flat member, score array.
fn flat_scored(pairs: &[(&str, f64)]) -> Reply {
    Reply::Array(
        pairs
            .iter()
            .flat_map(|(member, score)| [bulk(member), Reply::Double(*score)])
            .collect(),
    )
}

#[test]
fn zadd_options_and_errors() {
    let mut f = zsets();
    assert_eq!(f.run("ZADD z 1 a 2 b"), Reply::Integer(2));
    assert_eq!(f.run("ZADD z CH 5 a 2 b 3 c"), Reply::Integer(2));
    assert_eq!(f.run("ZADD z XX 1 new"), Reply::Integer(0));
    assert_eq!(f.run("ZADD z GT CH 1 a"), Reply::Integer(0));
    assert_eq!(f.run("ZADD z LT INCR 1 a"), Reply::Null);
    assert_eq!(f.run("ZADD z INCR 0 a"), Reply::Double(5.0));
    assert_eq!(f.run("ZADD missing XX INCR 1 a"), Reply::Null);
    assert_eq!(f.encoding("missing"), None);
    assert_eq!(
        f.run("ZADD z NX XX 1 a"),
        error("ERR XX and NX options at the same time are not compatible")
    );
    assert_eq!(
        f.run("ZADD z GT LT 1 a"),
        error("ERR GT, LT, and/or NX options at the same time are not compatible")
    );
    assert_eq!(
        f.run("ZADD z INCR 1 a 2 b"),
        error("ERR INCR option supports a single increment-element pair")
    );
    assert_eq!(f.run("ZADD z 1 a 2"), error("ERR syntax error"));
    assert_eq!(
        f.run("ZADD z nan a"),
        error("ERR value is not a valid float")
    );
    assert_eq!(f.run("ZINCRBY z xx a"), error("ERR syntax error"));
    f.run("ZADD z inf a");
    assert_eq!(
        f.run("ZINCRBY z -inf a"),
        error("ERR resulting score is not a number (NaN)")
    );
    assert_eq!(f.run("ZADD z 0x10 hex"), Reply::Integer(1));
    assert_eq!(f.run("ZSCORE z hex"), Reply::Double(16.0));
}

#[test]
fn ranges_by_rank_score_and_lex() {
    let mut f = zsets();
    f.run("ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(
        f.run("ZRANGE z 0 -1"),
        Reply::Array(bulks(&["a", "b", "c", "d"]))
    );
    assert_eq!(
        f.run("ZRANGE z -2 100 REV"),
        Reply::Array(bulks(&["b", "a"]))
    );
    assert_eq!(f.run("ZREVRANGE z 0 0 WITHSCORES"), scored(&[("d", 4.0)]));
    assert_eq!(
        f.run("ZRANGEBYSCORE z (1 3"),
        Reply::Array(bulks(&["b", "c"]))
    );
    assert_eq!(
        f.run("ZRANGE z +inf -inf BYSCORE REV LIMIT 1 2 WITHSCORES"),
        scored(&[("c", 3.0), ("b", 2.0)])
    );
    assert_eq!(
        f.run("ZRANGEBYSCORE z -inf +inf LIMIT -1 2"),
        Reply::Array(vec![])
    );
    assert_eq!(
        f.run("ZRANGEBYLEX z [b (d"),
        Reply::Array(bulks(&["b", "c"]))
    );
    assert_eq!(
        f.run("ZREVRANGEBYLEX z + - LIMIT 0 2"),
        Reply::Array(bulks(&["d", "c"]))
    );
    assert_eq!(f.run("ZCOUNT z (1 +inf"), Reply::Integer(3));
    assert_eq!(f.run("ZLEXCOUNT z - +"), Reply::Integer(4));
    assert_eq!(
        f.run("ZRANGE z 0 -1 LIMIT 0 1"),
        error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        )
    );
    assert_eq!(
        f.run("ZRANGEBYLEX z - + WITHSCORES"),
        error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    );
    assert_eq!(
        f.run("ZRANGEBYSCORE z ((1 2"),
        error("ERR min or max is not a float")
    );
    assert_eq!(
        f.run("ZRANGEBYLEX z a +"),
        error("ERR min or max not valid string range item")
    );
    assert_eq!(f.run("ZRANGESTORE dst z 1 2"), Reply::Integer(2));
    assert_eq!(f.run("ZRANGESTORE dst z 5 6"), Reply::Integer(0));
    assert_eq!(f.encoding("dst"), None);
}

#[test]
fn removal_by_ranges_deletes_empty_keys() {
    let mut f = zsets();
    f.run("ZADD z 1 a 2 b 3 c");
    assert_eq!(f.run("ZREMRANGEBYRANK z 0 0"), Reply::Integer(1));
    assert_eq!(f.run("ZREMRANGEBYSCORE z (2 +inf"), Reply::Integer(1));
    assert_eq!(f.run("ZREMRANGEBYLEX z - +"), Reply::Integer(1));
    assert_eq!(f.encoding("z"), None);
}

#[test]
fn algebra_with_weights_and_aggregates() {
    let mut f = zsets();
    f.run("ZADD a 1 x 2 y");
    f.run("ZADD b 10 y 20 z");
    assert_eq!(
        f.run("ZUNION 2 a b WITHSCORES"),
        scored(&[("x", 1.0), ("y", 12.0), ("z", 20.0)])
    );
    assert_eq!(
        f.run("ZINTER 2 a b WEIGHTS 2 1 AGGREGATE MAX WITHSCORES"),
        scored(&[("y", 10.0)])
    );
    assert_eq!(f.run("ZDIFF 2 a b"), Reply::Array(bulks(&["x"])));
    assert_eq!(f.run("ZINTERCARD 2 a b LIMIT 0"), Reply::Integer(1));
    assert_eq!(f.run("ZUNIONSTORE d 2 a b"), Reply::Integer(3));
    assert_eq!(f.encoding("d"), Some("listpack"));
    assert_eq!(
        f.run("ZUNION 0 a"),
        error("ERR at least 1 input key is needed for 'zunion' command")
    );
    assert_eq!(
        f.run("ZUNION 1 a WEIGHTS x"),
        error("ERR weight value is not a float")
    );
    assert_eq!(f.run("ZDIFF 1 a WEIGHTS 1"), error("ERR syntax error"));
    f.run("ZADD i inf m");
    f.run("ZADD j -inf m");
    assert_eq!(f.run("ZUNION 2 i j WITHSCORES"), scored(&[("m", 0.0)]));
    assert_eq!(
        f.run("ZUNION 1 i WEIGHTS 0 WITHSCORES"),
        scored(&[("m", 0.0)])
    );
}

#[test]
fn pops_and_random_members() {
    let mut f = zsets();
    f.run("ZADD z 1 a 2 b 3 c");
    assert_eq!(f.run("ZPOPMIN z"), flat_scored(&[("a", 1.0)]));
    assert_eq!(f.run("ZPOPMAX z 5"), scored(&[("c", 3.0), ("b", 2.0)]));
    assert_eq!(f.encoding("z"), None);
    assert_eq!(f.run("ZMPOP 1 z MIN"), Reply::NullArray);
    f.run("ZADD z 1 a 2 b 3 c");
    assert_eq!(
        f.run("ZMPOP 2 missing z MAX COUNT 2"),
        Reply::Array(vec![
            bulk("z"),
            Reply::Array(vec![
                Reply::Array(vec![bulk("c"), Reply::Double(3.0)]),
                Reply::Array(vec![bulk("b"), Reply::Double(2.0)]),
            ]),
        ])
    );
    assert_eq!(
        f.run("ZMPOP 0 z MIN"),
        error("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        f.run("ZMPOP 1 z MIN COUNT 0"),
        error("ERR count should be greater than 0")
    );
    f.run("ZADD z 2 b 3 c");
    assert_eq!(
        f.run("ZRANDMEMBER z 10"),
        Reply::Array(bulks(&["c", "b", "a"]))
    );
    let Reply::Pairs(picks) = f.run("ZRANDMEMBER z -5 WITHSCORES") else {
        panic!()
    };
    assert_eq!(picks.len(), 5);
    assert_eq!(
        f.run("ZRANDMEMBER z -4611686018427387904 WITHSCORES"),
        error("ERR value is out of range")
    );
    assert_eq!(
        f.run("ZSCAN z 0"),
        Reply::Array(vec![
            bulk("0"),
            Reply::Array(bulks(&["a", "1", "b", "2", "c", "3"]))
        ])
    );
}

#[test]
fn skiplist_encoding_serves_the_same_replies() {
    let mut f = zsets();
    for index in 0..300 {
        f.run(&format!("ZADD z {} m{index:03}", index % 7));
    }
    assert_eq!(f.encoding("z"), Some("skiplist"));
    assert_eq!(f.run("ZCARD z"), Reply::Integer(300));
    assert_eq!(f.run("ZCOUNT z 3 3"), Reply::Integer(43));
    assert_eq!(f.run("ZRANK z m000"), Reply::Integer(0));
    assert_eq!(f.run("ZREVRANK z m000"), Reply::Integer(299));
    assert_eq!(
        f.run("ZRANGE z 0 1"),
        Reply::Array(bulks(&["m000", "m007"]))
    );
    assert_eq!(
        f.run("ZRANGEBYSCORE z 6 +inf LIMIT 40 5"),
        Reply::Array(bulks(&["m286", "m293"]))
    );
    assert_eq!(f.run("ZREMRANGEBYSCORE z 0 5"), Reply::Integer(258));
    assert_eq!(f.encoding("z"), Some("skiplist"));
    assert_eq!(f.run("ZUNIONSTORE small 1 z"), Reply::Integer(42));
    assert_eq!(f.encoding("small"), Some("listpack"));
}
