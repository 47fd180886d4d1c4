//! The RESP2/RESP3 value parser: every type, incomplete input, malformed
//! input, the nesting bound, and round trips through the encoder.

use proptest::prelude::*;

use super::*;
use crate::resp::reply::Protocol;
use bytes::BytesMut;

fn parsed(input: &[u8]) -> Reply {
    match parse_frame(input) {
        Ok(Some((reply, consumed))) => {
            assert_eq!(
                consumed,
                input.len(),
                "{:?}",
                String::from_utf8_lossy(input)
            );
            reply
        }
        other => panic!("{:?} parsed as {other:?}", String::from_utf8_lossy(input)),
    }
}

fn error_kind(input: &[u8]) -> FrameErrorKind {
    match parse_frame(input) {
        Err(error) => error.kind().clone(),
        other => panic!("{:?} parsed as {other:?}", String::from_utf8_lossy(input)),
    }
}

fn bulk(text: &'static [u8]) -> Reply {
    Reply::Bulk(Bytes::from_static(text))
}

#[test]
fn every_type_parses() {
    let cases: Vec<(&[u8], Reply)> = vec![
        (b"+OK\r\n", Reply::ok()),
        (b"-ERR no\r\n", Reply::error("ERR no")),
        (b":-12\r\n", Reply::Integer(-12)),
        (b"$3\r\na\r\n\r\n", bulk(b"a\r\n")),
        (b"$0\r\n\r\n", bulk(b"")),
        (b"$-1\r\n", Reply::Null),
        (b"*-1\r\n", Reply::NullArray),
        (b"_\r\n", Reply::Null),
        (
            b"*2\r\n:1\r\n$1\r\nx\r\n",
            Reply::Array(vec![Reply::Integer(1), bulk(b"x")]),
        ),
        (b",1.5\r\n", Reply::Double(1.5)),
        (b",-inf\r\n", Reply::Double(f64::NEG_INFINITY)),
        (b",1e+300\r\n", Reply::Double(1e300)),
        (b"#t\r\n", Reply::Boolean(true)),
        (b"#f\r\n", Reply::Boolean(false)),
        (
            b"(12345678901234567890\r\n",
            Reply::BigNumber(Bytes::from_static(b"12345678901234567890")),
        ),
        (
            b"=15\r\ntxt:Some string\r\n",
            Reply::Verbatim {
                format: *b"txt",
                text: Bytes::from_static(b"Some string"),
            },
        ),
        (
            b"%1\r\n+k\r\n:1\r\n",
            Reply::Map(vec![(Reply::simple("k"), Reply::Integer(1))]),
        ),
        (b"~1\r\n_\r\n", Reply::Set(vec![Reply::Null])),
        (
            b">2\r\n+a\r\n+b\r\n",
            Reply::Push(vec![Reply::simple("a"), Reply::simple("b")]),
        ),
        (b"|1\r\n+ttl\r\n:3600\r\n:7\r\n", Reply::Integer(7)),
        (
            b"*1\r\n|1\r\n+a\r\n+b\r\n#t\r\n",
            Reply::Array(vec![Reply::Boolean(true)]),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            parsed(input),
            expected,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn nan_double_parses() {
    assert!(matches!(parsed(b",nan\r\n"), Reply::Double(value) if value.is_nan()));
}

#[test]
fn consumed_bytes_stop_at_the_end_of_the_first_value() {
    assert_eq!(
        parse_frame(b":1\r\n:2\r\n"),
        Ok(Some((Reply::Integer(1), 4)))
    );
}

#[test]
fn every_proper_prefix_is_incomplete() {
    let input = b"*2\r\n%1\r\n$1\r\nk\r\n=5\r\ntxt:x\r\n|1\r\n+a\r\n+b\r\n,2.5\r\n";
    assert!(parse_frame(input).is_ok_and(|frame| frame.is_some()));
    for len in 0..input.len() {
        assert_eq!(
            parse_frame(&input[..len]),
            Ok(None),
            "prefix of {len} bytes"
        );
    }
}

#[test]
fn malformed_values_are_refused() {
    let cases: &[(&[u8], FrameErrorKind)] = &[
        (b"!3\r\n", FrameErrorKind::UnknownType(b'!')),
        (b"\r\n", FrameErrorKind::UnknownType(b'\r')),
        (b"+OK\rX", FrameErrorKind::MissingCrlf),
        (b"$1\r\naXY", FrameErrorKind::MissingCrlf),
        (b":1.5\r\n", FrameErrorKind::InvalidInteger),
        (b":+1\r\n", FrameErrorKind::InvalidInteger),
        (b"$-2\r\n", FrameErrorKind::InvalidLength),
        (b"$?\r\n", FrameErrorKind::InvalidLength),
        (b"*-2\r\n", FrameErrorKind::InvalidLength),
        (b"%-1\r\n", FrameErrorKind::InvalidLength),
        (b"=-1\r\n", FrameErrorKind::InvalidLength),
        (b",x\r\n", FrameErrorKind::InvalidDouble),
        (b"#x\r\n", FrameErrorKind::InvalidBoolean),
        (b"_x\r\n", FrameErrorKind::InvalidNull),
        (b"=3\r\ntxt\r\n", FrameErrorKind::InvalidVerbatim),
        (b"=4\r\ntxtx\r\n", FrameErrorKind::InvalidVerbatim),
    ];
    for (input, kind) in cases {
        assert_eq!(
            error_kind(input),
            *kind,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn error_display_names_the_problem_and_offset() {
    let error = parse_frame(b"*1\r\n!\r\n").expect_err("unknown type");
    assert_eq!(error.offset(), 4);
    assert_eq!(error.to_string(), "unknown RESP type byte 0x21 at byte 4");
}

fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut input = b"*1\r\n".repeat(depth);
    input.extend_from_slice(b":1\r\n");
    input
}

#[test]
fn nesting_up_to_the_limit_parses_and_deeper_is_refused() {
    assert!(parse_frame(&nested_arrays(RESP_NESTING_MAX)).is_ok_and(|frame| frame.is_some()));
    assert_eq!(
        error_kind(&nested_arrays(RESP_NESTING_MAX + 1)),
        FrameErrorKind::NestingTooDeep
    );
    let deep_attribute = [b"|1\r\n".repeat(RESP_NESTING_MAX + 1), b"+k\r\n".to_vec()].concat();
    assert_eq!(error_kind(&deep_attribute), FrameErrorKind::NestingTooDeep);
}

#[test]
fn huge_declared_counts_and_lengths_are_only_incomplete() {
    assert_eq!(parse_frame(b"*9223372036854775807\r\n:1\r\n"), Ok(None));
    assert_eq!(parse_frame(b"%9223372036854775807\r\n:1\r\n"), Ok(None));
    assert_eq!(parse_frame(b"$9223372036854775807\r\nabc"), Ok(None));
}

/// What a RESP3 peer decodes from `reply`: the same value, except that both
/// nulls are `_`, which decodes as [`Reply::Null`].
fn resp3_shape(reply: &Reply) -> Reply {
    let all = |items: &[Reply]| items.iter().map(resp3_shape).collect();
    match reply {
        Reply::NullArray => Reply::Null,
        Reply::Array(items) => Reply::Array(all(items)),
        Reply::Set(items) => Reply::Set(all(items)),
        Reply::Push(items) => Reply::Push(all(items)),
        Reply::Map(pairs) => Reply::Map(
            pairs
                .iter()
                .map(|(key, value)| (resp3_shape(key), resp3_shape(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Equality with NaN equal to NaN.
fn same(left: &Reply, right: &Reply) -> bool {
    let all_same = |left: &[Reply], right: &[Reply]| {
        left.len() == right.len()
            && left
                .iter()
                .zip(right)
                .all(|(left, right)| same(left, right))
    };
    match (left, right) {
        (Reply::Double(left), Reply::Double(right)) => {
            left.to_bits() == right.to_bits() || (left.is_nan() && right.is_nan())
        }
        (Reply::Array(left), Reply::Array(right))
        | (Reply::Set(left), Reply::Set(right))
        | (Reply::Push(left), Reply::Push(right)) => all_same(left, right),
        (Reply::Map(left), Reply::Map(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .zip(right)
                    .all(|((lk, lv), (rk, rv))| same(lk, rk) && same(lv, rv))
        }
        (left, right) => left == right,
    }
}

fn bytes(regex: &'static str) -> impl Strategy<Value = Bytes> {
    proptest::string::bytes_regex(regex)
        .expect("valid regex")
        .prop_map(Bytes::from)
}

fn scalar() -> impl Strategy<Value = Reply> {
    prop_oneof![
        bytes("(?s-u:[^\r\n]{0,12})").prop_map(Reply::Simple),
        bytes("(?s-u:[^\r\n]{0,12})").prop_map(Reply::Error),
        any::<i64>().prop_map(Reply::Integer),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(|payload| Reply::Bulk(payload.into())),
        Just(Reply::Null),
        Just(Reply::NullArray),
        any::<f64>().prop_map(Reply::Double),
        any::<bool>().prop_map(Reply::Boolean),
        bytes("-?[1-9][0-9]{0,40}").prop_map(Reply::BigNumber),
        (any::<[u8; 3]>(), prop::collection::vec(any::<u8>(), 0..16)).prop_map(|(format, text)| {
            Reply::Verbatim {
                format,
                text: text.into(),
            }
        }),
    ]
}

fn reply_tree() -> impl Strategy<Value = Reply> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        let items = prop::collection::vec(inner.clone(), 0..6);
        prop_oneof![
            items.clone().prop_map(Reply::Array),
            items.clone().prop_map(Reply::Set),
            items.prop_map(Reply::Push),
            prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Reply::Map),
        ]
    })
}

fn encoded(reply: &Reply, protocol: Protocol) -> Vec<u8> {
    let mut out = BytesMut::new();
    reply.encode(protocol, &mut out);
    out.to_vec()
}

proptest! {
    #[test]
    fn resp3_encoding_parses_back_to_the_reply(reply in reply_tree()) {
        let wire = encoded(&reply, Protocol::Resp3);
        let (decoded, consumed) = parse_frame(&wire).expect("well formed").expect("complete");
        prop_assert_eq!(consumed, wire.len());
        prop_assert!(same(&decoded, &resp3_shape(&reply)), "{:?} != {:?}", decoded, reply);
    }

    #[test]
    fn resp2_encoding_parses_back_to_the_resp2_shape(reply in reply_tree()) {
        let wire = encoded(&reply, Protocol::Resp2);
        let (decoded, consumed) = parse_frame(&wire).expect("well formed").expect("complete");
        prop_assert_eq!(consumed, wire.len());
        prop_assert_eq!(decoded, reply.to_resp2_shape());
    }

    #[test]
    fn truncated_encoding_is_incomplete(reply in reply_tree(), cut in any::<prop::sample::Index>()) {
        let wire = encoded(&reply, Protocol::Resp3);
        prop_assert_eq!(parse_frame(&wire[..cut.index(wire.len())]), Ok(None));
    }

    #[test]
    fn arbitrary_input_never_panics(input in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(Some((_, consumed))) = parse_frame(&input) {
            prop_assert!(consumed <= input.len());
        }
    }
}
