//! Wire-protocol micro-benchmarks: parsing pipelined commands and encoding
//! the most common replies in RESP2, the two ends of every request.

use bytes::{Bytes, BytesMut};
use corekv::resp::{ParseLimits, Parser, Protocol, Reply};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

/// Commands per pipeline, as `redis-benchmark -P 16` sends them.
const PIPELINE_DEPTH: usize = 16;

/// `count` multibulk commands built from `command(index)`.
fn pipeline(count: usize, command: impl Fn(usize) -> Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for index in 0..count {
        let args = command(index);
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(&arg);
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Parses every command in `input`, as a connection does after one read.
fn parse_pipeline(input: &[u8], limits: &ParseLimits) -> usize {
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(input);
    let mut args_count = 0;
    while let Ok(Some(argv)) = parser.parse(&mut buf, limits) {
        args_count += argv.len();
    }
    args_count
}

fn parse_benches(criterion: &mut Criterion) {
    let limits = ParseLimits::default();
    let sets = pipeline(PIPELINE_DEPTH, |index| {
        vec![
            b"SET".to_vec(),
            format!("key:{index:03}").into_bytes(),
            b"value".to_vec(),
        ]
    });
    criterion.bench_function("parse/set_pipeline_16", |bencher| {
        bencher.iter(|| parse_pipeline(black_box(&sets), &limits))
    });
    let gets = pipeline(PIPELINE_DEPTH, |index| {
        vec![b"GET".to_vec(), format!("key:{index:03}").into_bytes()]
    });
    criterion.bench_function("parse/get_pipeline_16", |bencher| {
        bencher.iter(|| parse_pipeline(black_box(&gets), &limits))
    });
}

/// Encodes `reply` in RESP2 into a reused output buffer.
fn bench_encode(criterion: &mut Criterion, name: &str, reply: &Reply) {
    let mut out = BytesMut::with_capacity(4096);
    criterion.bench_function(name, |bencher| {
        bencher.iter(|| {
            out.clear();
            black_box(reply).encode(Protocol::Resp2, &mut out);
            black_box(out.len())
        })
    });
}

fn encode_benches(criterion: &mut Criterion) {
    let value = Bytes::from_static(b"value:0123456789abcdef");
    bench_encode(criterion, "encode/bulk", &Reply::Bulk(value.clone()));
    bench_encode(criterion, "encode/integer", &Reply::Integer(-1_234_567_890));
    let array = Reply::Array(vec![Reply::Bulk(value); 10]);
    bench_encode(criterion, "encode/array_of_10_bulk", &array);
}

criterion_group!(benches, parse_benches, encode_benches);
criterion_main!(benches);
