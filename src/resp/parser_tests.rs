//! The command parser against Redis 7.0's framing: every frame shape, every
//! split point, every protocol error with its exact text, and the memory
//! bounds.

use proptest::prelude::*;

use super::*;

/// Parses every command in `input` fed as one buffer; stops at the first
/// error, returned last.
fn parse_all(input: &[u8], limits: &ParseLimits) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
    parse_chunks(&[input], limits)
}

/// Feeds `chunks` one after another, parsing all it can after each.
fn parse_chunks(
    chunks: &[&[u8]],
    limits: &ParseLimits,
) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
    let mut parser = Parser::new();
    let mut buf = BytesMut::new();
    let mut commands = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf, limits) {
                Ok(Some(argv)) => commands.push(argv),
                Ok(None) => break,
                Err(error) => return (commands, Some(error)),
            }
        }
    }
    (commands, None)
}

fn commands(input: &[u8]) -> Vec<Vec<Bytes>> {
    let (commands, error) = parse_all(input, &ParseLimits::default());
    assert_eq!(error, None, "input {:?}", String::from_utf8_lossy(input));
    commands
}

fn argv(args: &[&[u8]]) -> Vec<Bytes> {
    args.iter().map(|arg| Bytes::copy_from_slice(arg)).collect()
}

fn first_error(input: &[u8]) -> ProtocolError {
    first_error_with(input, &ParseLimits::default())
}

fn first_error_with(input: &[u8], limits: &ParseLimits) -> ProtocolError {
    match parse_all(input, limits) {
        (_, Some(error)) => error,
        (commands, None) => panic!("no error for {input:?}, parsed {commands:?}"),
    }
}

fn encode_multibulk(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// An inline line that `sdssplitargs` splits back into exactly `args`:
/// every argument double quoted, every byte outside printable ASCII (and
/// `"`, `\`) as `\xHH`.
fn encode_inline_quoted(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for arg in args {
        out.push(b'"');
        for &byte in arg {
            match byte {
                b'"' | b'\\' => out.extend_from_slice(&[b'\\', byte]),
                b' '..=b'~' => out.push(byte),
                _ => out.extend_from_slice(format!("\\x{byte:02x}").as_bytes()),
            }
        }
        out.extend_from_slice(b"\" ");
    }
    out.extend_from_slice(b"\r\n");
    out
}

const PIPELINE: &[u8] = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n\
    PING\r\n\
    *0\r\n\
    *2\r\n$3\r\nGET\r\n$3\r\nkey\r\n\
    \r\n\
    set \"a b\" 'c d'\n\
    *-1\r\n\
    *1\r\n$0\r\n\r\n";

fn pipeline_commands() -> Vec<Vec<Bytes>> {
    vec![
        argv(&[b"SET", b"key", b"value"]),
        argv(&[b"PING"]),
        argv(&[b"GET", b"key"]),
        argv(&[b"set", b"a b", b"c d"]),
        argv(&[b""]),
    ]
}

#[test]
fn pipeline_of_every_frame_shape_parses_in_order() {
    assert_eq!(commands(PIPELINE), pipeline_commands());
}

#[test]
fn pipeline_parses_the_same_at_every_split_point() {
    for split in 0..=PIPELINE.len() {
        let (head, tail) = PIPELINE.split_at(split);
        let (parsed, error) = parse_chunks(&[head, tail], &ParseLimits::default());
        assert_eq!(error, None, "split at {split}");
        assert_eq!(parsed, pipeline_commands(), "split at {split}");
    }
}

#[test]
fn pipeline_parses_the_same_fed_one_byte_at_a_time() {
    let bytes: Vec<&[u8]> = PIPELINE.chunks(1).collect();
    let (parsed, error) = parse_chunks(&bytes, &ParseLimits::default());
    assert_eq!(error, None);
    assert_eq!(parsed, pipeline_commands());
}

#[test]
fn partial_multibulk_is_kept_in_progress_and_consumed() {
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nke"[..]);
    assert_eq!(parser.parse(&mut buf, &ParseLimits::default()), Ok(None));
    assert!(parser.in_progress());
    // The header and the complete first argument are consumed; the partial
    // payload of the second waits in the buffer.
    assert_eq!(&buf[..], b"ke");
    buf.extend_from_slice(b"y\r\n");
    assert_eq!(
        parser.parse(&mut buf, &ParseLimits::default()),
        Ok(Some(argv(&[b"GET", b"key"])))
    );
    assert!(!parser.in_progress());
    assert!(buf.is_empty());
}

#[test]
fn empty_multibulks_and_blank_lines_are_skipped_before_the_next_command() {
    for input in [
        &b"*0\r\nPING\r\n"[..],
        b"*-10\r\nPING\r\n",
        b"\r\nPING\r\n",
        b"\n   \r\n\t\nPING\n",
    ] {
        let mut parser = Parser::new();
        let mut buf = BytesMut::from(input);
        assert_eq!(
            parser.parse(&mut buf, &ParseLimits::default()),
            Ok(Some(argv(&[b"PING"])))
        );
        assert!(buf.is_empty());
    }
    let mut buf = BytesMut::from(&b"*0\r\n*0\r\n\r\n"[..]);
    assert_eq!(
        Parser::new().parse(&mut buf, &ParseLimits::default()),
        Ok(None)
    );
    assert!(buf.is_empty());
}

#[test]
fn bulk_payloads_are_binary_safe() {
    let parsed = commands(b"*3\r\n$3\r\nSET\r\n$4\r\nk\r\n\0\r\n$3\r\n\n\0\r\r\n");
    assert_eq!(parsed, vec![argv(&[b"SET", b"k\r\n\0", b"\n\0\r"])]);
}

#[test]
fn bulk_trailer_is_skipped_unchecked_like_redis() {
    assert_eq!(
        commands(b"*1\r\n$4\r\nPINGxy*1\r\n$1\r\nA\r\n"),
        vec![argv(&[b"PING"]), argv(&[b"A"])]
    );
}

#[test]
fn header_line_feed_is_skipped_unchecked_like_redis() {
    assert_eq!(commands(b"*1\rX$4\rYPING\r\n"), vec![argv(&[b"PING"])]);
}

#[test]
fn header_waits_for_the_byte_after_its_carriage_return() {
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&b"*1\r"[..]);
    assert_eq!(parser.parse(&mut buf, &ParseLimits::default()), Ok(None));
    assert_eq!(&buf[..], b"*1\r");
}

#[test]
fn inline_commands_split_like_sdssplitargs() {
    let cases: &[(&[u8], &[&[u8]])] = &[
        (b"set \"a b\" 'c d'\r\n", &[b"set", b"a b", b"c d"]),
        (b"\"\\x41\"\r\n", &[b"A"]),
        (b"\"\\x4\" \"\\xZZ\"\n", &[b"x4", b"xZZ"]),
        (
            b"\"\\n\\r\\t\\b\\a\\\\\\\"\\q\"\n",
            &[b"\n\r\t\x08\x07\\\"q"],
        ),
        (b"'it\\'s' 'a\\nb'\n", &[b"it's", b"a\\nb"]),
        (b"\"\" ''\n", &[b"", b""]),
        (b"  GET\t  key  \r\n", &[b"GET", b"key"]),
        (b"foo\"bar baz\" x\n", &[b"foobar baz", b"x"]),
        (b"a\x0bb \x0c c\n", &[b"a\x0bb", b"c"]),
        (b"a\rb\n", &[b"a", b"b"]),
        (b"\"q\"\x0bx\n", &[b"q", b"x"]),
        (b"a\0b\n", &[b"a\0b"]),
    ];
    for (input, expected) in cases {
        assert_eq!(
            commands(input),
            vec![argv(expected)],
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn inline_unbalanced_quotes_are_refused() {
    for input in [
        &b"set \"a b\n"[..],
        b"set 'a b\n",
        b"\"a\"b\n",
        b"'a'b\n",
        b"\"trailing backslash\\\n",
        b"\"\\\"\n",
    ] {
        assert_eq!(
            first_error(input),
            ProtocolError::UnbalancedQuotes,
            "{input:?}"
        );
    }
}

#[test]
fn protocol_errors_have_redis_exact_text() {
    let cases: &[(&[u8], &str)] = &[
        (b"*x\r\n", "Protocol error: invalid multibulk length"),
        (b"*+1\r\n", "Protocol error: invalid multibulk length"),
        (b"*01\r\n", "Protocol error: invalid multibulk length"),
        (b"* 1\r\n", "Protocol error: invalid multibulk length"),
        (
            b"*2147483648\r\n",
            "Protocol error: invalid multibulk length",
        ),
        (
            b"*99999999999999999999\r\n",
            "Protocol error: invalid multibulk length",
        ),
        (b"*1\r\nfoo\r\n", "Protocol error: expected '$', got 'f'"),
        (b"*1\r\n\r\n", "Protocol error: expected '$', got '\r'"),
        (b"*1\r\n$x\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$\r\n", "Protocol error: invalid bulk length"),
        (
            b"*1\r\n$536870913\r\n",
            "Protocol error: invalid bulk length",
        ),
        (b"set \"a\n", "Protocol error: unbalanced quotes in request"),
    ];
    for (input, text) in cases {
        assert_eq!(
            first_error(input).to_string(),
            *text,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn largest_accepted_counts_and_lengths_are_the_limits() {
    let mut buf = BytesMut::from(&b"*2147483647\r\n$536870912\r\n"[..]);
    let mut parser = Parser::new();
    assert_eq!(parser.parse(&mut buf, &ParseLimits::default()), Ok(None));
    assert!(parser.in_progress());
}

#[test]
fn too_long_lines_are_refused_once_more_than_the_limit_is_buffered() {
    let limits = ParseLimits {
        inline_bytes_max: 8,
        ..ParseLimits::default()
    };
    let cases: &[(&[u8], ProtocolError)] = &[
        (b"*00000001", ProtocolError::TooBigMbulkCountString),
        (b"*1\r\n$00000001", ProtocolError::TooBigBulkCountString),
        (b"GET 12345", ProtocolError::TooBigInlineRequest),
    ];
    for (input, error) in cases {
        assert_eq!(first_error_with(input, &limits), *error);
        // With one byte less, the line end could still come.
        let (parsed, no_error) = parse_all(&input[..input.len() - 1], &limits);
        assert_eq!((parsed.len(), no_error), (0, None));
    }
    assert_eq!(
        ProtocolError::TooBigMbulkCountString.to_string(),
        "Protocol error: too big mbulk count string"
    );
    assert_eq!(
        ProtocolError::TooBigBulkCountString.to_string(),
        "Protocol error: too big bulk count string"
    );
    assert_eq!(
        ProtocolError::TooBigInlineRequest.to_string(),
        "Protocol error: too big inline request"
    );
}

#[test]
fn line_end_at_offset_equal_to_the_limit_is_accepted() {
    let limits = ParseLimits {
        inline_bytes_max: 8,
        ..ParseLimits::default()
    };
    let (parsed, error) = parse_all(b"GET 123\r\n*1\r\n$1\r\nx\r\n", &limits);
    assert_eq!(
        (parsed, error),
        (vec![argv(&[b"GET", b"123"]), argv(&[b"x"])], None)
    );
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&b"*1000000\r\n$1000000\r\n"[..]);
    assert_eq!(parser.parse(&mut buf, &limits), Ok(None));
    assert!(parser.in_progress());
    assert!(buf.is_empty());
}

#[test]
fn expected_dollar_reply_carries_the_raw_byte() {
    let error = first_error(b"*1\r\n\xff\r\n");
    assert_eq!(error, ProtocolError::ExpectedDollar(0xff));
    assert_eq!(
        error.to_reply(),
        Reply::Error(Bytes::from_static(
            b"ERR Protocol error: expected '$', got '\xff'"
        ))
    );
    assert_eq!(
        ProtocolError::UnbalancedQuotes.to_reply(),
        Reply::error("ERR Protocol error: unbalanced quotes in request")
    );
}

#[test]
fn error_resets_the_parser() {
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&b"*2\r\n$1\r\na\r\nxx\r\n"[..]);
    assert!(parser.parse(&mut buf, &ParseLimits::default()).is_err());
    assert!(!parser.in_progress());
}

#[test]
fn huge_declared_lengths_reserve_nothing() {
    let limits = ParseLimits {
        bulk_bytes_max: 2_000_000_000,
        ..ParseLimits::default()
    };
    let mut parser = Parser::new();
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(b"*2000000000\r\n$1000000000\r\n0123456789");
    assert_eq!(parser.parse(&mut buf, &limits), Ok(None));
    let multibulk = parser.multibulk.as_ref().expect("multibulk in progress");
    assert_eq!(multibulk.pending_bulk_len, Some(1_000_000_000));
    assert!(multibulk.argv.capacity() <= ARGV_PREALLOC_MAX);
    assert_eq!(buf.len(), 10);
    assert!(buf.capacity() <= 64, "buffer grew to {}", buf.capacity());
}

#[test]
fn huge_declared_length_of_a_single_argument_preallocates_one_slot() {
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&b"*1\r\n$1000\r\n"[..]);
    assert_eq!(parser.parse(&mut buf, &ParseLimits::default()), Ok(None));
    let multibulk = parser.multibulk.as_ref().expect("multibulk in progress");
    assert!(multibulk.argv.capacity() <= 1);
}

fn argvs() -> impl Strategy<Value = Vec<Vec<Vec<u8>>>> {
    let arg = prop::collection::vec(any::<u8>(), 0..24);
    prop::collection::vec(prop::collection::vec(arg, 1..6), 1..8)
}

proptest! {
    #[test]
    fn multibulk_pipeline_split_anywhere_parses_back(argvs in argvs(), splits in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let input: Vec<u8> = argvs.iter().flat_map(|args| encode_multibulk(args)).collect();
        let mut cuts: Vec<usize> = splits.iter().map(|index| index.index(input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for cut in cuts {
            chunks.push(&input[start..cut]);
            start = cut;
        }
        chunks.push(&input[start..]);
        let (parsed, error) = parse_chunks(&chunks, &ParseLimits::default());
        prop_assert_eq!(error, None);
        let expected: Vec<Vec<Bytes>> = argvs.iter().map(|args| args.iter().map(|arg| Bytes::copy_from_slice(arg)).collect()).collect();
        prop_assert_eq!(parsed, expected);
    }

    #[test]
    fn quoted_inline_and_multibulk_encodings_agree(args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..16), 1..6)) {
        prop_assert_eq!(commands(&encode_inline_quoted(&args)), commands(&encode_multibulk(&args)));
    }

    #[test]
    fn bare_inline_and_multibulk_encodings_agree(args in prop::collection::vec("[!#-&(-~]{1,12}", 1..6)) {
        let args: Vec<Vec<u8>> = args.into_iter().map(String::into_bytes).collect();
        let mut inline = args.join(&b' ');
        inline.extend_from_slice(b"\r\n");
        prop_assume!(inline[0] != b'*');
        prop_assert_eq!(commands(&inline), commands(&encode_multibulk(&args)));
    }

    #[test]
    fn arbitrary_input_never_panics_and_always_progresses(input in prop::collection::vec(any::<u8>(), 0..64)) {
        let limits = ParseLimits { inline_bytes_max: 16, bulk_bytes_max: 16, ..ParseLimits::default() };
        let mut parser = Parser::new();
        let mut buf = BytesMut::from(&input[..]);
        while let Ok(Some(argv)) = parser.parse(&mut buf, &limits) {
            prop_assert!(!argv.is_empty());
        }
    }
}
