//! Redis's glob-style pattern matching, as used by `KEYS`, `SCAN ... MATCH`,
//! `CONFIG GET` and pattern subscriptions.
//!
//! The semantics are those of Redis's `stringmatchlen` (`util.c`), quirks
//! included, so that every pattern selects exactly the keys Redis would
//! select. The algorithm is not Redis's: Redis recurses on every `*`, which
//! took a nesting cap and an early-exit flag to keep patterns like
//! `a*a*a*a*...b` from going exponential. Here the matcher is iterative with a
//! single backtrack point — the classic glob algorithm — so it runs in
//! O(pattern × string) time and constant space on any input. This module owns
//! only the matching; callers decide which names to match.

/// Whether `string` matches the glob `pattern`, with Redis's `stringmatchlen`
/// semantics:
///
/// * `*` matches any run of bytes, `?` any single byte;
/// * `[abc]` matches one byte from the set, `[^abc]` one byte not in it,
///   `[a-z]` a range (a reversed range such as `[z-a]` is the same range);
///   inside a class `\x` stands for the byte `x`; a pattern that ends inside
///   a class closes it there;
/// * `\x` matches the byte `x` literally; a trailing `\` matches a `\`;
/// * with `nocase`, ASCII letters match either case — except an escaped byte
///   inside a class, which Redis compares exactly.
///
/// Quirks kept from Redis: an empty `string` matches only an empty pattern
/// (so `**` does not match `""`; Redis's `KEYS *` gets away with it by
/// short-circuiting the lone `*`), and class ranges compare bytes as signed
/// (`char` on x86-64), so `[a-\xff]` is the range `-1..=97`.
///
/// Runs in O(`pattern.len()` × `string.len()`) time in the worst case and
/// never recurses.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    if string.is_empty() {
        return pattern.is_empty();
    }
    let mut pattern_index = 0;
    let mut string_index = 0;
    // After a `*`: where the rest of the pattern starts, and where in the
    // string the `*`'s match currently ends. Only the latest `*` matters: any
    // match an earlier `*` could extend to, the later `*` can absorb.
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        if pattern_index < pattern.len() {
            if pattern[pattern_index] == b'*' {
                pattern_index += 1;
                backtrack = Some((pattern_index, string_index));
                continue;
            }
            if let Some(&byte) = string.get(string_index) {
                let (matched, next) = match_element(pattern, pattern_index, byte, nocase);
                if matched {
                    pattern_index = next;
                    string_index += 1;
                    continue;
                }
            }
        } else if string_index == string.len() {
            return true;
        }
        match backtrack {
            Some((after_star, star_end)) if star_end < string.len() => {
                backtrack = Some((after_star, star_end + 1));
                pattern_index = after_star;
                string_index = star_end + 1;
            }
            _ => return false,
        }
    }
}

/// Matches the single-byte pattern element (anything but `*`) starting at
/// `pattern[start]` against `byte`. Returns whether it matched and the index
/// just past the element.
fn match_element(pattern: &[u8], start: usize, byte: u8, nocase: bool) -> (bool, usize) {
    match pattern[start] {
        b'?' => (true, start + 1),
        b'[' => match_class(pattern, start + 1, byte, nocase),
        b'\\' if start + 1 < pattern.len() => {
            (bytes_equal(pattern[start + 1], byte, nocase), start + 2)
        }
        literal => (bytes_equal(literal, byte, nocase), start + 1),
    }
}

/// Matches the class whose body starts at `pattern[start]` (just past the
/// `[`) against `byte`. Returns whether it matched and the index just past the
/// closing `]`, or the pattern's end if the class is unterminated.
///
/// Mirrors Redis's parse exactly: a `\` escapes the next byte if there is
/// one; `x-y` is a range whenever two bytes follow `x`, even if the second is
/// `]` (so `[a-]` is the range `]..=a`, and unterminated); a `]` first in the
/// body closes an empty class.
fn match_class(pattern: &[u8], start: usize, byte: u8, nocase: bool) -> (bool, usize) {
    let negated = pattern.get(start) == Some(&b'^');
    let mut index = if negated { start + 1 } else { start };
    let mut matched = false;
    while index < pattern.len() {
        let remaining = pattern.len() - index;
        let current = pattern[index];
        if current == b'\\' && remaining >= 2 {
            // Redis compares escaped class members exactly, even with nocase.
            matched |= pattern[index + 1] == byte;
            index += 2;
        } else if current == b']' {
            index += 1;
            break;
        } else if remaining >= 3 && pattern[index + 1] == b'-' {
            matched |= in_range(current, pattern[index + 2], byte, nocase);
            index += 3;
        } else {
            matched |= bytes_equal(current, byte, nocase);
            index += 1;
        }
    }
    (matched != negated, index)
}

/// Whether `byte` lies in the range with ends `first` and `last`, compared as
/// Redis does on x86-64: as signed `char`s, ends swapped into order first and
/// then, with `nocase`, each lowercased.
fn in_range(first: u8, last: u8, byte: u8, nocase: bool) -> bool {
    let (low, high) = if signed(first) > signed(last) {
        (last, first)
    } else {
        (first, last)
    };
    let fold = |value: u8| {
        if nocase {
            value.to_ascii_lowercase()
        } else {
            value
        }
    };
    (signed(fold(low))..=signed(fold(high))).contains(&signed(fold(byte)))
}

/// The byte as C's signed `char` on x86-64.
fn signed(byte: u8) -> i8 {
    byte as i8
}

/// Byte equality, ignoring ASCII case with `nocase`.
fn bytes_equal(pattern_byte: u8, byte: u8, nocase: bool) -> bool {
    if nocase {
        pattern_byte.eq_ignore_ascii_case(&byte)
    } else {
        pattern_byte == byte
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A transliteration of Redis 7's recursive `stringmatchlen_impl` (minus
    /// its early-exit flag and nesting cap), exponential on hostile patterns:
    /// the oracle the iterative matcher is checked against on small inputs.
    fn reference_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
        let (mut p, mut s) = (pattern, string);
        let lower = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
        while !p.is_empty() && !s.is_empty() {
            match p[0] {
                b'*' => {
                    while p.len() > 1 && p[1] == b'*' {
                        p = &p[1..];
                    }
                    if p.len() == 1 {
                        return true;
                    }
                    return (0..s.len()).any(|skip| reference_match(&p[1..], &s[skip..], nocase));
                }
                b'?' => {}
                b'[' => {
                    p = &p[1..];
                    let not = p.first() == Some(&b'^');
                    if not {
                        p = &p[1..];
                    }
                    let mut hit = false;
                    loop {
                        if p.len() >= 2 && p[0] == b'\\' {
                            p = &p[1..];
                            hit |= p[0] == s[0];
                        } else if p.is_empty() || p[0] == b']' {
                            break;
                        } else if p.len() >= 3 && p[1] == b'-' {
                            let (mut a, mut b) = (p[0] as i8, p[2] as i8);
                            if a > b {
                                std::mem::swap(&mut a, &mut b);
                            }
                            let (a, b) = (lower(a as u8) as i8, lower(b as u8) as i8);
                            let c = lower(s[0]) as i8;
                            hit |= a <= c && c <= b;
                            p = &p[2..];
                        } else {
                            hit |= lower(p[0]) == lower(s[0]);
                        }
                        p = &p[1..];
                    }
                    if hit == not {
                        return false;
                    }
                    // Redis steps back onto the last byte when the class is
                    // unterminated, then steps past it below.
                    if p.is_empty() {
                        s = &s[1..];
                        break;
                    }
                }
                b'\\' if p.len() >= 2 => {
                    p = &p[1..];
                    if lower(p[0]) != lower(s[0]) {
                        return false;
                    }
                }
                literal => {
                    if lower(literal) != lower(s[0]) {
                        return false;
                    }
                }
            }
            p = &p[1..];
            s = &s[1..];
            if s.is_empty() {
                while p.first() == Some(&b'*') {
                    p = &p[1..];
                }
                break;
            }
        }
        p.is_empty() && s.is_empty()
    }

    fn matches(pattern: &str, string: &str) -> bool {
        glob_match(pattern.as_bytes(), string.as_bytes(), false)
    }

    #[test]
    fn literals_and_wildcards() {
        assert!(matches("", ""));
        assert!(matches("foo", "foo"));
        assert!(!matches("foo", "fo"));
        assert!(!matches("foo", "fooo"));
        assert!(matches("f?o", "fxo"));
        assert!(!matches("f?o", "fo"));
        assert!(matches("*", "anything"));
        assert!(matches("f*", "f"));
        assert!(matches("*o", "foo"));
        assert!(matches("f*o", "fo"));
        assert!(matches("h*llo", "heeeello"));
        assert!(matches("*a*b*", "xxaxxbxx"));
        assert!(!matches("*a*b*", "xxbxxaxx"));
        assert!(matches("a**b", "ab"));
        assert!(matches("user:*:name", "user:1000:name"));
        assert!(!matches("user:*:name", "user:1000:email"));
    }

    /// Redis 7.0.15: with an empty key present, `KEYS **` and `KEYS ?*` do not
    /// return it (only the lone `*` is short-circuited by `KEYS` itself).
    #[test]
    fn empty_string_matches_only_the_empty_pattern() {
        assert!(matches("", ""));
        assert!(!matches("*", ""));
        assert!(!matches("**", ""));
        assert!(!matches("?*", ""));
        assert!(!matches("a", ""));
    }

    #[test]
    fn character_classes() {
        assert!(matches("h[ae]llo", "hello"));
        assert!(matches("h[ae]llo", "hallo"));
        assert!(!matches("h[ae]llo", "hillo"));
        assert!(matches("h[^e]llo", "hallo"));
        assert!(!matches("h[^e]llo", "hello"));
        assert!(matches("h[a-b]llo", "hbllo"));
        assert!(matches("h[b-a]llo", "hallo"), "reversed ranges are allowed");
        assert!(!matches("h[a-b]llo", "hcllo"));
        assert!(matches("[0-9][0-9]", "42"));
        assert!(matches("[-a]", "-"), "a leading dash is a member");
        assert!(matches("[a-c-]", "-"), "so is a dash after a range");
        assert!(!matches("[]", "]"), "`]` first closes an empty class");
        assert!(!matches("[]]", "]"));
        assert!(
            matches("[^]", "x"),
            "a negated empty class matches any byte"
        );
    }

    /// Checked against `KEYS` on redis-server 7.0.15.
    #[test]
    fn class_edge_cases_match_redis() {
        assert!(
            !matches("[", "x"),
            "an unterminated empty class matches nothing"
        );
        assert!(matches("[^", "x"));
        assert!(matches("a[^", "a-"));
        assert!(!matches("a[", "a"));
        assert!(matches("[ab", "b"), "the pattern's end closes the class");
        // `[a-]`: `-` followed by a byte is a range, here `]..=a`, unterminated.
        assert!(matches("[a-]", "]"));
        assert!(matches("[a-]", "^"));
        assert!(!matches("[a-]", "a-"));
        assert!(!matches("[a-]", "-"));
        assert!(matches("*[^-", "x["));
        // `c-]` is a range too, so a dash closing a class is not a member.
        assert!(matches("[abc-]", "^"));
        assert!(!matches("[abc-]", "-"));
        assert!(matches("[\\]]", "]"), "an escaped `]` is a member");
        assert!(matches("[\\-a]", "-"));
        assert!(matches("a[\\\\", "a\\"));
        assert!(
            matches("[x\\", "\\"),
            "a trailing `\\` in a class is literal"
        );
    }

    #[test]
    fn escapes() {
        assert!(matches("\\*", "*"));
        assert!(!matches("\\*", "x"));
        assert!(matches("\\?\\[", "?["));
        assert!(matches("a\\\\", "a\\"));
        assert!(
            matches("a\\", "a\\"),
            "a trailing backslash matches a backslash"
        );
        assert!(!matches("a\\", "a"));
    }

    /// Checked against `KEYS` on redis-server 7.0.15 (x86-64).
    #[test]
    fn class_ranges_compare_bytes_as_signed_chars() {
        let hit = |pattern: &[u8], byte: u8| glob_match(pattern, &[byte], false);
        assert!(hit(b"[a-\xff]", 0xff));
        assert!(hit(b"[a-\xff]", b'0'));
        assert!(!hit(b"[a-\xff]", b'z'));
        assert!(!hit(b"[a-\xff]", 0x80));
        assert!(hit(b"[\x80-\xff]", 0x80));
        assert!(!hit(b"[\x80-\xff]", b'0'));
        assert!(hit(b"[\x01-\xff]", 0xff));
        assert!(!hit(b"[\x01-\xff]", b'Z'));
        assert!(glob_match(b"\xff*", b"\xff\x00\x80", false));
    }

    /// Checked against `CONFIG GET` (which matches with nocase) on
    /// redis-server 7.0.15.
    #[test]
    fn nocase_folds_ascii_except_escaped_class_members() {
        let nocase =
            |pattern: &str, string: &str| glob_match(pattern.as_bytes(), string.as_bytes(), true);
        assert!(nocase("MAXMEMORY", "maxmemory"));
        assert!(nocase("max*", "MAXMEMORY"));
        assert!(nocase("[M]axmemory", "maxmemory"));
        assert!(nocase("[L-N]axmemory", "maxmemory"));
        assert!(nocase("[l-n]axmemory", "MAXMEMORY"));
        assert!(
            !nocase("[Z-a]axmemory", "maxmemory"),
            "swapped, then folded"
        );
        assert!(!nocase("[\\M]axmemory", "maxmemory"));
        assert!(nocase("[^\\M]axmemory", "maxmemory"));
        assert!(nocase("\\Max", "max"));
        assert!(!matches("MAX", "max"));
        assert!(!nocase("\u{e9}", "\u{c9}"), "only ASCII folds");
    }

    #[test]
    fn pathological_patterns_finish() {
        let string = vec![b'a'; 10 * 1024];
        let mut pattern = b"a*".repeat(200);
        pattern.push(b'b');
        assert!(!glob_match(&pattern, &string, false));
        let pattern = b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*[^a]";
        assert!(!glob_match(pattern, &string, true));
        let mut pattern = b"*?".repeat(100);
        pattern.extend_from_slice(b"*a");
        assert!(glob_match(&pattern, &string, false));
    }

    #[test]
    fn reference_agrees_on_the_fixed_vectors() {
        let cases: [(&[u8], &[u8]); 8] = [
            (b"[a-]", b"^"),
            (b"[^", b"x"),
            (b"*[^-", b"x["),
            (b"a\\", b"a\\"),
            (b"[x\\", b"\\"),
            (b"[ab", b"b"),
            (b"**", b""),
            (b"[a-\xff]", b"0"),
        ];
        for (pattern, string) in cases {
            assert_eq!(
                reference_match(pattern, string, false),
                glob_match(pattern, string, false)
            );
        }
    }

    fn pattern_bytes() -> impl Strategy<Value = Vec<u8>> {
        let alphabet = b"abA*?[]^-\\\xff".to_vec();
        proptest::collection::vec(proptest::sample::select(alphabet), 0..10)
    }

    fn string_bytes() -> impl Strategy<Value = Vec<u8>> {
        let alphabet = b"abAB-]^\\[*\xff\x80".to_vec();
        proptest::collection::vec(proptest::sample::select(alphabet), 0..10)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn agrees_with_the_recursive_reference(
            pattern in pattern_bytes(),
            string in string_bytes(),
            nocase in any::<bool>(),
        ) {
            prop_assert_eq!(
                glob_match(&pattern, &string, nocase),
                reference_match(&pattern, &string, nocase)
            );
        }

        #[test]
        fn a_string_matches_itself_escaped(string in string_bytes()) {
            let escaped: Vec<u8> = string.iter().flat_map(|&byte| [b'\\', byte]).collect();
            prop_assert!(glob_match(&escaped, &string, false));
        }
    }
}
