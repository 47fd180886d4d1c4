//! Exact wire bytes of every [`Reply`] variant in both protocols, and
//! `%.17g` vectors for [`format_double`].

use super::*;

fn encoded(reply: &Reply, protocol: Protocol) -> Vec<u8> {
    let mut out = BytesMut::new();
    reply.encode(protocol, &mut out);
    out.to_vec()
}

fn bulk(text: &'static str) -> Reply {
    Reply::bulk(Bytes::from_static(text.as_bytes()))
}

/// (reply, RESP2 bytes, RESP3 bytes)
fn wire_vectors() -> Vec<(Reply, &'static [u8], &'static [u8])> {
    vec![
        (Reply::ok(), b"+OK\r\n", b"+OK\r\n"),
        (Reply::simple("PONG"), b"+PONG\r\n", b"+PONG\r\n"),
        (Reply::simple(""), b"+\r\n", b"+\r\n"),
        (
            Reply::error("ERR syntax error"),
            b"-ERR syntax error\r\n",
            b"-ERR syntax error\r\n",
        ),
        (
            Reply::error_string("WRONGTYPE Operation".to_string()),
            b"-WRONGTYPE Operation\r\n",
            b"-WRONGTYPE Operation\r\n",
        ),
        (Reply::Integer(0), b":0\r\n", b":0\r\n"),
        (Reply::Integer(-42), b":-42\r\n", b":-42\r\n"),
        (
            Reply::Integer(i64::MIN),
            b":-9223372036854775808\r\n",
            b":-9223372036854775808\r\n",
        ),
        (bulk("foo"), b"$3\r\nfoo\r\n", b"$3\r\nfoo\r\n"),
        (bulk(""), b"$0\r\n\r\n", b"$0\r\n\r\n"),
        (
            bulk("a\r\nb\0"),
            b"$5\r\na\r\nb\0\r\n",
            b"$5\r\na\r\nb\0\r\n",
        ),
        (Reply::Null, b"$-1\r\n", b"_\r\n"),
        (Reply::NullArray, b"*-1\r\n", b"_\r\n"),
        (Reply::Array(vec![]), b"*0\r\n", b"*0\r\n"),
        (
            Reply::Array(vec![bulk("a"), Reply::Integer(1), Reply::Null]),
            b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n",
            b"*3\r\n$1\r\na\r\n:1\r\n_\r\n",
        ),
        (
            Reply::Map(vec![
                (bulk("k"), Reply::Integer(1)),
                (bulk("j"), Reply::Boolean(true)),
            ]),
            b"*4\r\n$1\r\nk\r\n:1\r\n$1\r\nj\r\n:1\r\n",
            b"%2\r\n$1\r\nk\r\n:1\r\n$1\r\nj\r\n#t\r\n",
        ),
        (
            Reply::Set(vec![bulk("x"), bulk("y")]),
            b"*2\r\n$1\r\nx\r\n$1\r\ny\r\n",
            b"~2\r\n$1\r\nx\r\n$1\r\ny\r\n",
        ),
        (Reply::Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n"),
        (Reply::Double(f64::INFINITY), b"$3\r\ninf\r\n", b",inf\r\n"),
        (
            Reply::Double(f64::NEG_INFINITY),
            b"$4\r\n-inf\r\n",
            b",-inf\r\n",
        ),
        (Reply::Boolean(true), b":1\r\n", b"#t\r\n"),
        (Reply::Boolean(false), b":0\r\n", b"#f\r\n"),
        (
            Reply::BigNumber(Bytes::from_static(
                b"-3492890328409238509324850943850943825024385",
            )),
            b"$44\r\n-3492890328409238509324850943850943825024385\r\n",
            b"(-3492890328409238509324850943850943825024385\r\n",
        ),
        (
            Reply::Verbatim {
                format: *b"txt",
                text: Bytes::from_static(b"Some string"),
            },
            b"$11\r\nSome string\r\n",
            b"=15\r\ntxt:Some string\r\n",
        ),
        (
            Reply::Push(vec![bulk("message"), bulk("ch"), bulk("hi")]),
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        ),
        (
            Reply::Array(vec![
                Reply::Array(vec![Reply::NullArray]),
                Reply::Set(vec![]),
            ]),
            b"*2\r\n*1\r\n*-1\r\n*0\r\n",
            b"*2\r\n*1\r\n_\r\n~0\r\n",
        ),
    ]
}

#[test]
fn every_variant_encodes_to_exact_bytes_in_both_protocols() {
    for (reply, resp2, resp3) in wire_vectors() {
        assert_eq!(
            encoded(&reply, Protocol::Resp2),
            resp2,
            "RESP2 {reply:?}: {:?}",
            String::from_utf8_lossy(&encoded(&reply, Protocol::Resp2))
        );
        assert_eq!(
            encoded(&reply, Protocol::Resp3),
            resp3,
            "RESP3 {reply:?}: {:?}",
            String::from_utf8_lossy(&encoded(&reply, Protocol::Resp3))
        );
    }
}

#[test]
fn encode_appends_after_existing_output() {
    let mut out = BytesMut::from(&b"+OK\r\n"[..]);
    Reply::Integer(7).encode(Protocol::Resp2, &mut out);
    assert_eq!(&out[..], b"+OK\r\n:7\r\n");
}

#[test]
fn status_and_error_text_cr_lf_are_sent_as_spaces_like_redis() {
    let status = Reply::Simple(Bytes::from_static(b"a\r\nb"));
    assert_eq!(encoded(&status, Protocol::Resp2), b"+a  b\r\n");
    let error = Reply::Error(Bytes::from_static(b"ERR x\ny\r"));
    assert_eq!(encoded(&error, Protocol::Resp3), b"-ERR x y \r\n");
}

#[test]
fn helpers_build_the_documented_variants() {
    assert_eq!(Reply::ok(), Reply::Simple(Bytes::from_static(b"OK")));
    assert_eq!(
        Reply::bulk(vec![1u8, 2]),
        Reply::Bulk(Bytes::from_static(&[1, 2]))
    );
    assert!(Reply::error("ERR x").is_error());
    assert!(Reply::error_string("ERR y".into()).is_error());
    assert!(!Reply::ok().is_error());
    assert_eq!(Protocol::default(), Protocol::Resp2);
}

#[test]
fn to_resp2_shape_flattens_maps_and_degrades_resp3_scalars() {
    let reply = Reply::Map(vec![(
        Reply::Verbatim {
            format: *b"txt",
            text: Bytes::from_static(b"t"),
        },
        Reply::Set(vec![Reply::Double(0.5), Reply::Boolean(false)]),
    )]);
    let expected = Reply::Array(vec![
        bulk("t"),
        Reply::Array(vec![bulk("0.5"), Reply::Integer(0)]),
    ]);
    assert_eq!(reply.to_resp2_shape(), expected);
    assert_eq!(
        encoded(&reply, Protocol::Resp2),
        encoded(&expected, Protocol::Resp2)
    );
}

fn formatted(value: f64) -> String {
    let mut out = Vec::new();
    format_double(value, &mut out);
    String::from_utf8(out).expect("format_double writes ASCII")
}

#[test]
fn format_double_matches_c_percent_17g() {
    let vectors: &[(f64, &str)] = &[
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (3.0, "3"),
        (-3.0, "-3"),
        (1.5, "1.5"),
        (0.1, "0.10000000000000001"),
        (0.5, "0.5"),
        (100000.0, "100000"),
        (0.0001, "0.0001"),
        (0.00001, "1.0000000000000001e-05"),
        (1e16, "10000000000000000"),
        (1e17, "1e+17"),
        (123456789012345680.0, "1.2345678901234568e+17"),
        (12345678901234567.0, "12345678901234568"),
        (1e300, "1.0000000000000001e+300"),
        (-1e-300, "-1e-300"),
        (5e-324, "4.9406564584124654e-324"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (1e-5, "1.0000000000000001e-05"),
        (2.5e-5, "2.5000000000000001e-05"),
        (1e100, "1e+100"),
        (2.71, "2.71"),
        (1.1, "1.1000000000000001"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
    ];
    for &(value, text) in vectors {
        assert_eq!(formatted(value), text, "{value:e}");
    }
}

#[test]
fn format_double_text_parses_back_to_the_same_bits() {
    for value in [
        0.1,
        -2.5e-310,
        1e23,
        9007199254740993.0,
        f64::EPSILON,
        -f64::MAX,
    ] {
        let parsed: f64 = formatted(value)
            .parse()
            .expect("format_double output parses");
        assert_eq!(parsed.to_bits(), value.to_bits(), "{value:e}");
    }
}

proptest::proptest! {
    #[test]
    fn format_double_round_trips_every_finite_double(bits: u64) {
        let value = f64::from_bits(bits);
        proptest::prop_assume!(value.is_finite());
        let parsed: f64 = formatted(value).parse().expect("format_double output parses");
        proptest::prop_assert_eq!(parsed.to_bits(), value.to_bits());
    }
}
