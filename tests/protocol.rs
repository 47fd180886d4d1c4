//! The bad-input contract, over real TCP, with Redis 7.0's `networking.c`
//! semantics: a protocol error replies `-ERR Protocol error: ...` after the
//! replies to every earlier command, then closes that connection and only
//! that one. Command errors (arity, unknown command, bad numbers) reply
//! Redis's exact text and keep the connection open. Limits on what a client
//! may make the server hold are enforced without reserving memory from a
//! declared length.

// Black-box tests stand outside the engine: they read clocks, spawn threads
// and open sockets, which clippy.toml bans only for the core.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use corekv::resp::Reply;

use common::*;

/// Sends `input` on a fresh connection and asserts the server replies
/// `-ERR Protocol error: <message>` and then closes it.
fn assert_protocol_error(server: &TestServer, input: &[u8], message: &str) {
    let mut client = server.raw();
    client.send_until_closed(input);
    let want = Reply::Error(format!("ERR Protocol error: {message}").into_bytes().into());
    assert_eq!(
        client.try_read_reply(),
        Some(want),
        "reply to {:?}",
        String::from_utf8_lossy(&input[..input.len().min(40)])
    );
    assert!(
        client.is_closed(),
        "connection closed after the protocol error"
    );
}

#[test]
fn multibulk_count_above_int_max_is_an_invalid_multibulk_length() {
    let server = TestServer::start(1);
    assert_protocol_error(&server, b"*3000000000\r\n", "invalid multibulk length");
    assert_protocol_error(&server, b"*2147483648\r\n", "invalid multibulk length");
}

#[test]
fn non_numeric_multibulk_count_is_an_invalid_multibulk_length() {
    let server = TestServer::start(1);
    assert_protocol_error(&server, b"*abc\r\n", "invalid multibulk length");
    assert_protocol_error(&server, b"*\r\n", "invalid multibulk length");
}

#[test]
fn empty_and_negative_multibulks_and_blank_lines_are_skipped() {
    let server = TestServer::start(1);
    let mut client = server.raw();
    client.send(b"*0\r\n*-10\r\n\r\n*-1\r\n\n   \r\nPING\r\n");
    assert_eq!(client.read_reply(), simple("PONG"));
    client.send(b"*0\r\n");
    assert_eq!(client.call_words("PING"), simple("PONG"));
}

#[test]
fn multibulk_element_not_starting_with_dollar_is_reported_with_its_byte() {
    let server = TestServer::start(1);
    assert_protocol_error(&server, b"*1\r\nfoo\r\n", "expected '$', got 'f'");
    assert_protocol_error(
        &server,
        b"*2\r\n$4\r\nPING\r\n:1\r\n",
        "expected '$', got ':'",
    );
}

#[test]
fn expected_dollar_error_carries_the_raw_byte_as_redis_does() {
    // Redis formats the byte with `%c`: a non-ASCII byte is sent as itself,
    // not as the UTF-8 encoding of the char with that code point.
    let server = TestServer::start(1);
    let mut client = server.raw();
    client.send_until_closed(b"*1\r\n\xff\r\n");
    assert_eq!(
        client.try_read_reply(),
        Some(Reply::Error(
            b"ERR Protocol error: expected '$', got '\xff'"[..].into()
        ))
    );
    assert!(client.is_closed());
}

#[test]
fn bad_bulk_lengths_are_invalid_bulk_length() {
    let server = TestServer::start(1);
    let over_default_proto_max_bulk_len = format!("{}", 512 * 1024 * 1024 + 1);
    for length in [
        "-1",
        "-5",
        "abc",
        "01",
        "+1",
        "",
        "1 ",
        &over_default_proto_max_bulk_len,
        "1073741824",
    ] {
        let input = format!("*1\r\n${length}\r\n");
        assert_protocol_error(&server, input.as_bytes(), "invalid bulk length");
    }
}

#[test]
fn header_lines_without_cr_within_64kb_are_too_big() {
    let server = TestServer::start(1);
    let digits = vec![b'1'; 70 * 1024];
    let mbulk = [&b"*"[..], &digits].concat();
    assert_protocol_error(&server, &mbulk, "too big mbulk count string");
    let bulk_header = [&b"*1\r\n$"[..], &digits].concat();
    assert_protocol_error(&server, &bulk_header, "too big bulk count string");
    let inline = vec![b'a'; 70 * 1024];
    assert_protocol_error(&server, &inline, "too big inline request");
}

#[test]
fn unbalanced_quotes_in_an_inline_command_are_a_protocol_error() {
    let server = TestServer::start(1);
    assert_protocol_error(&server, b"SET \"a b\r\n", "unbalanced quotes in request");
    assert_protocol_error(&server, b"SET 'a b\r\n", "unbalanced quotes in request");
    assert_protocol_error(&server, b"SET \"a\"b c\r\n", "unbalanced quotes in request");
}

#[test]
fn protocol_error_comes_after_earlier_replies_and_later_commands_never_run() {
    let server = TestServer::start(2);
    let mut client = server.raw();
    let input = [
        words("SET before 1"),
        words("GET before"),
        b"*1\r\nfoo\r\n".to_vec(),
        words("SET after 1"),
    ]
    .concat();
    client.send_until_closed(&input);
    assert_eq!(client.read_reply(), ok());
    assert_eq!(client.read_reply(), bulk("1"));
    assert_eq!(
        client.read_reply(),
        error("ERR Protocol error: expected '$', got 'f'")
    );
    assert!(client.is_closed());
    let mut other = server.raw();
    assert_eq!(other.call_words("GET before"), bulk("1"));
    assert_eq!(other.call_words("EXISTS after"), int(0));
}

#[test]
fn protocol_error_closes_only_the_offending_connection() {
    let server = TestServer::start(2);
    let mut bystanders: Vec<RawClient> = (0..4).map(|_| server.raw()).collect();
    for (i, bystander) in bystanders.iter_mut().enumerate() {
        assert_eq!(bystander.call_words(&format!("SET mine{i} {i}")), ok());
    }
    for garbage in [
        &b"*abc\r\n"[..],
        b"*1\r\nfoo\r\n",
        b"*1\r\n$-3\r\n",
        b"SET \"x\r\n",
    ] {
        let mut offender = server.raw();
        offender.send_until_closed(garbage);
        assert!(offender.read_reply().is_error());
        assert!(offender.is_closed());
    }
    for (i, bystander) in bystanders.iter_mut().enumerate() {
        assert_eq!(
            bystander.call_words(&format!("GET mine{i}")),
            bulk(&i.to_string())
        );
        assert_eq!(bystander.call_words("PING"), simple("PONG"));
    }
}

#[test]
fn declared_1gb_bulk_with_10_bytes_sent_reserves_no_memory() {
    const DECLARED_BYTES: u64 = 1 << 30;
    // A child process, so that its RSS is the server's alone; its
    // proto-max-bulk-len lets the 1 GB header through.
    let server = ServerProcess::start(&["--threads", "2", "--proto-max-bulk-len", "2gb"]);
    let mut observer = server.raw();
    let rss_before = observer.rss_bytes();
    let mut hog = server.raw();
    let Reply::Integer(hog_id) = hog.call_words("CLIENT ID") else {
        panic!("CLIENT ID replies an integer")
    };
    hog.send(format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${DECLARED_BYTES}\r\n").as_bytes());
    hog.send(b"0123456789");
    // Once the server shows the 10 payload bytes buffered, it has seen the
    // whole header: had it reserved for the declared length, it would have.
    poll_until("the server has buffered the hog's 10 payload bytes", || {
        let list = reply_text(&observer.call_words("CLIENT LIST"));
        list.lines()
            .any(|line| line.starts_with(&format!("id={hog_id} ")) && line.contains(" qbuf=10 "))
    });
    for i in 0..100 {
        assert_eq!(observer.call_words(&format!("SET other{i} {i}")), ok());
    }
    assert_eq!(server.raw().call_words("PING"), simple("PONG"));
    let growth = observer.rss_bytes().saturating_sub(rss_before);
    assert!(
        growth < DECLARED_BYTES / 8,
        "RSS grew by {growth} bytes for a 1 GB bulk of which 10 bytes arrived"
    );
    assert_eq!(observer.call_words("EXISTS k"), int(0));
}

#[test]
fn inline_commands_with_quotes_work_like_telnet() {
    let server = TestServer::start(2);
    let mut client = server.raw();
    client.send(b"SET \"a b\" 'c d'\r\n");
    assert_eq!(client.read_reply(), ok());
    client.send(b"GET \"a b\"\r\n");
    assert_eq!(client.read_reply(), bulk("c d"));
    client.send(b"set esc \"x\\x41\\n\\t\"\n");
    assert_eq!(client.read_reply(), ok());
    assert_eq!(client.call_words("GET esc"), bulk("xA\n\t"));
    client.send(b"  SET   single   'it\\'s'  \r\n");
    assert_eq!(client.read_reply(), ok());
    assert_eq!(client.call_words("GET single"), bulk("it's"));
    client.send(b"MGET \"a b\" single nokey\r\n");
    assert_eq!(
        client.read_reply(),
        array(vec![bulk("c d"), bulk("it's"), Reply::Null])
    );
}

#[test]
fn keys_and_values_with_crlf_and_nul_round_trip() {
    let server = TestServer::start(3);
    let mut client = server.raw();
    let cases: [(&[u8], &[u8]); 4] = [
        (b"a\r\nb", b"value\r\n"),
        (b"nul\0key", b"\0\0\0"),
        (b"\r\n", b"\r\n\r\n*1\r\n$4\r\nPING\r\n"),
        (b"empty", b""),
    ];
    for (key, value) in cases {
        assert_eq!(client.call(&[b"SET", key, value]), ok());
    }
    for (key, value) in cases {
        assert_eq!(client.call(&[b"GET", key]), bulk_bytes(value));
    }
    let mut mget: Vec<&[u8]> = vec![b"MGET"];
    mget.extend(cases.iter().map(|(key, _)| *key));
    let want = cases.iter().map(|(_, value)| bulk_bytes(value)).collect();
    assert_eq!(client.call(&mget), array(want));
    assert_eq!(client.call_words("DBSIZE"), int(cases.len() as i64));
}

#[test]
fn commands_split_into_single_bytes_parse_the_same() {
    let server = TestServer::start(2);
    let mut client = server.raw();
    let input = [
        words("SET split value"),
        b"GET split\r\n".to_vec(),
        words("ECHO done"),
    ]
    .concat();
    for byte in input {
        client.send(&[byte]);
    }
    assert_eq!(
        client.read_replies(3),
        vec![ok(), bulk("value"), bulk("done")]
    );
}

#[test]
fn arity_errors_are_exact_and_keep_the_connection_open() {
    let server = TestServer::start(2);
    let mut client = server.raw();
    let cases = [
        ("GET", "get"),
        ("GET a b", "get"),
        ("SET a", "set"),
        ("MGET", "mget"),
        ("MSET a", "mset"),
        ("MSET a 1 b", "mset"),
        ("DEL", "del"),
        ("DBSIZE x", "dbsize"),
        ("SELECT", "select"),
    ];
    for (command, name) in cases {
        assert_eq!(
            client.call_words(command),
            error(&format!(
                "ERR wrong number of arguments for '{name}' command"
            )),
            "{command}"
        );
    }
    assert_eq!(client.call_words("PING"), simple("PONG"));
}

#[test]
fn unknown_command_error_quotes_its_arguments() {
    let server = TestServer::start(1);
    let mut client = server.raw();
    assert_eq!(
        client.call_words("FOO a b"),
        error("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
    );
    assert_eq!(
        client.call_words("nosuch"),
        error("ERR unknown command 'nosuch', with args beginning with: ")
    );
    assert_eq!(
        client.call(&[b"x\r\ny", b"1\n"]),
        error("ERR unknown command 'x  y', with args beginning with: '1 ' ")
    );
    assert_eq!(client.call_words("PING"), simple("PONG"));
}

#[test]
fn set_option_errors_are_exact() {
    let server = TestServer::start(1);
    let mut client = server.raw();
    let cases = [
        (
            "SET k v EX abc",
            "ERR value is not an integer or out of range",
        ),
        ("SET k v EX 0", "ERR invalid expire time in 'set' command"),
        ("SET k v PX -5", "ERR invalid expire time in 'set' command"),
        (
            "SET k v EX 9223372036854775807",
            "ERR invalid expire time in 'set' command",
        ),
        ("SET k v NX XX", "ERR syntax error"),
        ("SET k v EX 10 PX 10", "ERR syntax error"),
        ("SET k v BOGUS", "ERR syntax error"),
        ("SET k v EX", "ERR syntax error"),
    ];
    for (command, message) in cases {
        assert_eq!(client.call_words(command), error(message), "{command}");
    }
    assert_eq!(client.call_words("EXISTS k"), int(0), "no failed SET wrote");
}

#[test]
fn incrby_overflow_and_non_integers_are_exact() {
    let server = TestServer::start(2);
    let mut client = server.raw();
    assert_eq!(client.call_words("SET n 9223372036854775807"), ok());
    let cases = [
        ("INCRBY n 1", "ERR increment or decrement would overflow"),
        ("INCR n", "ERR increment or decrement would overflow"),
        (
            "INCRBY n abc",
            "ERR value is not an integer or out of range",
        ),
        (
            "INCRBY n 1.5",
            "ERR value is not an integer or out of range",
        ),
        (
            "INCRBY n 99999999999999999999",
            "ERR value is not an integer or out of range",
        ),
    ];
    for (command, message) in cases {
        assert_eq!(client.call_words(command), error(message), "{command}");
    }
    assert_eq!(client.call_words("SET s notanumber"), ok());
    assert_eq!(
        client.call_words("INCR s"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(client.call_words("GET n"), bulk("9223372036854775807"));
}

#[test]
fn invalid_floats_are_exact() {
    let server = TestServer::start(1);
    let mut client = server.raw();
    assert_eq!(client.call_words("SET f 1.5"), ok());
    for increment in ["abc", "1.5x", "nan", ""] {
        assert_eq!(
            client.call(&[b"INCRBYFLOAT", b"f", increment.as_bytes()]),
            error("ERR value is not a valid float"),
            "INCRBYFLOAT f {increment:?}"
        );
    }
    assert_eq!(client.call_words("SET s text"), ok());
    assert_eq!(
        client.call_words("INCRBYFLOAT s 1"),
        error("ERR value is not a valid float")
    );
    assert_eq!(client.call_words("GET f"), bulk("1.5"));
}

/// WRONGTYPE needs a type other than strings; skipped while only strings
/// exist (the test starts checking as soon as LPUSH, HSET or SADD does).
#[test]
fn wrong_type_error_is_exact_when_another_type_exists() {
    let server = TestServer::start(1);
    let mut client = server.raw();
    let writers = [("lpush", "LPUSH"), ("hset", "HSET"), ("sadd", "SADD")];
    let Some((_, writer)) = writers.iter().find(|(name, _)| {
        client.call_words(&format!("COMMAND INFO {name}")) != array(vec![Reply::NullArray])
    }) else {
        eprintln!("skipped: no type other than string exists yet");
        return;
    };
    let create = if *writer == "HSET" {
        "HSET other f v".to_string()
    } else {
        format!("{writer} other v")
    };
    assert!(!client.call_words(&create).is_error());
    let wrongtype = error("WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(client.call_words("GET other"), wrongtype);
    assert_eq!(client.call_words("PING"), simple("PONG"));
}
#[test]
fn query_buffer_limit_closes_the_connection_and_nothing_else() {
    let server = TestServer::start_with(2, |config| {
        config.client_query_buffer_limit = 1024 * 1024;
    });
    let mut observer = server.raw();
    assert_eq!(observer.call_words("SET kept 1"), ok());
    let baseline = observer.info_field("clients", "connected_clients");
    let mut hog = server.raw();
    hog.send_until_closed(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$2000000\r\n");
    hog.send_until_closed(&vec![b'x'; 1_200_000]);
    assert_eq!(
        hog.try_read_reply(),
        None,
        "closed without a reply, as Redis does"
    );
    poll_until("the hog is gone", || {
        observer.info_field("clients", "connected_clients") == baseline
    });
    assert_eq!(observer.call_words("GET kept"), bulk("1"));
    assert_eq!(observer.call_words("EXISTS big"), int(0));
    assert_eq!(server.raw().call_words("PING"), simple("PONG"));
}

#[test]
fn query_buffer_limit_allows_a_pipeline_larger_than_the_limit() {
    // The limit bounds unparsed input, not the bytes a connection sends in total.
    let server = TestServer::start_with(2, |config| {
        config.client_query_buffer_limit = 1024 * 1024;
    });
    let value = "v".repeat(1000);
    let commands: Vec<Vec<u8>> = (0..3000)
        .map(|i| words(&format!("SET big{i} {value}")))
        .collect();
    let mut client = server.raw();
    assert!(client.pipeline(&commands).iter().all(|r| *r == ok()));
    assert_eq!(client.call_words("DBSIZE"), int(3000));
}
