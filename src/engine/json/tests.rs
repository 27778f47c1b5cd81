use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn p(s: &str) -> Result<Value<'_>, ParseError> {
    parse(s.as_bytes(), 32)
}

#[test]
fn parses_all_kinds_with_spans() {
    let src = r#" {"a": [1, -2.5e3, true, false, null], "b": "x\u00e9"} "#;
    let v = p(src).unwrap();
    assert_eq!(
        v.span,
        Span {
            start: 1,
            end: src.len() - 1
        }
    );
    let a = v.get("a").unwrap().as_array().unwrap();
    assert_eq!(a.len(), 5);
    assert_eq!(a[1].kind, Kind::Number("-2.5e3"));
    assert_eq!(&src[a[1].span.start..a[1].span.end], "-2.5e3");
    let b = v.get("b").unwrap();
    assert_eq!(b.as_str(), Some("xé"));
    assert_eq!(&src[b.span.start..b.span.end], r#""x\u00e9""#);
}

#[test]
fn decodes_escapes_and_surrogates() {
    let v = p(r#""\"\\\/\b\f\n\r\t\u0069gnore \ud83d\ude00 \ud800x""#).unwrap();
    assert_eq!(v.as_str(), Some("\"\\/\u{8}\u{c}\n\r\tignore 😀 \u{fffd}x"));
}

#[test]
fn borrows_strings_without_escapes() {
    let v = p(r#""plain text""#).unwrap();
    assert!(matches!(
        v.kind,
        Kind::String(std::borrow::Cow::Borrowed("plain text"))
    ));
}

#[test]
fn rejects_malformed_input() {
    for bad in [
        "",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        "-",
        "1e",
        "tru",
        "\"abc",
        "\"a\u{1}b\"",
        "\"\\x\"",
        "\"\\u12\"",
        "{\"a\" 1}",
        "{1:2}",
        "[1 2]",
        "{} {}",
        "nul",
        "\"\\u00zz\"",
    ] {
        assert!(p(bad).is_err(), "accepted {bad:?}");
    }
    assert!(parse(b"\"\xff\"", 8).is_err());
}

/// The string scanner reads eight bytes at a time: a quote, a backslash or a control character
/// must be found at every offset, next to any other byte (UTF-8 lead and continuation bytes
/// included), exactly where a byte-by-byte reading finds it.
#[test]
fn string_ends_escapes_and_control_characters_at_every_offset() {
    let filler = ["a", "é", "€", "~", " ", "\u{7f}"];
    for len in 0..40 {
        for fill in filler {
            let text = fill.repeat(len);
            let quoted = format!("\"{text}\"");
            assert_eq!(p(&quoted).unwrap().as_str(), Some(text.as_str()));
            let escaped = format!("\"{text}\\n{text}\"");
            assert_eq!(
                p(&escaped).unwrap().as_str(),
                Some(format!("{text}\n{text}").as_str())
            );
            for control in ['\u{0}', '\u{1f}', '\n'] {
                let bad = format!("\"{text}{control}{text}\"");
                let err = p(&bad).unwrap_err();
                assert_eq!(
                    (err.offset, err.reason),
                    (1 + text.len(), "control character in string")
                );
                // The same after an escape: the slow path checks its runs too.
                let bad = format!("\"\\t{text}{control}\"");
                assert_eq!(p(&bad).unwrap_err().offset, 3 + text.len());
            }
            let unterminated = format!("\"{text}");
            assert_eq!(p(&unterminated).unwrap_err().reason, "unterminated string");
        }
    }
    // Random bytes: the parse agrees with a byte-by-byte reading of where the string stops.
    let mut next = crate::engine::xorshift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2000 {
        // Stops are rare, so that they fall anywhere in a word, or in none.
        let body: Vec<u8> = (0..next(64))
            .map(|_| match next(24) {
                0 => [b'"', b'\\', 0x1f, 0][next(4)],
                _ => [b'a', b' ', 0x7f, b'~', b'0'][next(5)],
            })
            .collect();
        let stop = body
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        let mut src = b"\"".to_vec();
        src.extend(&body);
        match stop.map(|i| (i, body[i])) {
            Some((i, b'"')) => {
                let text = std::str::from_utf8(&body[..i]).unwrap();
                assert_eq!(parse(&src[..i + 2], 8).unwrap().as_str(), Some(text));
            }
            // An escape: what follows it is random, so only the run before it is known.
            Some((_, b'\\')) => {}
            Some((i, _)) => assert_eq!(parse(&src, 8).unwrap_err().offset, 1 + i),
            None => assert_eq!(parse(&src, 8).unwrap_err().reason, "unterminated string"),
        }
    }
}

#[test]
fn rejects_duplicate_keys_small_and_large_objects() {
    assert_eq!(
        p(r#"{"a":1,"a":2}"#).unwrap_err().reason,
        "duplicate object key"
    );
    assert_eq!(
        p(r#"{"a":1,"\u0061":2}"#).unwrap_err().reason,
        "duplicate object key"
    );
    let mut big: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
    assert!(p(&format!("{{{}}}", big.join(","))).is_ok());
    big.push("\"k3\":0".into());
    assert_eq!(
        p(&format!("{{{}}}", big.join(","))).unwrap_err().reason,
        "duplicate object key"
    );
}

#[test]
fn limits_depth() {
    let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
    assert_eq!(p(&deep).unwrap_err().reason, "nesting too deep");
    let ok = format!("{}{}", "[".repeat(32), "]".repeat(32));
    assert!(p(&ok).is_ok());
}

#[test]
fn error_never_contains_input() {
    let e = p(r#"{"secret-value": tru}"#).unwrap_err();
    assert!(!e.to_string().contains("secret"));
}

#[test]
fn write_str_roundtrips_through_parser() {
    for text in [
        "",
        "plain",
        "q\"b\\s/",
        "ctl\u{0}\u{1f}\n\t\r",
        "é 😀 \u{2028}",
    ] {
        let mut out = Vec::new();
        write_str(&mut out, text);
        let v = parse(&out, 4).unwrap();
        assert_eq!(v.as_str(), Some(text));
    }
}

#[test]
fn edits_splice_and_keep_other_bytes() {
    let src = br#"{"a": "one",  "b" : "two", "n": 1}"#;
    let v = parse(src, 8).unwrap();
    let mut edits = Edits::new();
    edits.replace_str(v.get("b").unwrap().span, "t\"wo");
    edits.insert(1, br#""z":0,"#.to_vec());
    let out = edits.apply(src).unwrap();
    assert_eq!(
        out,
        br#"{"z":0,"a": "one",  "b" : "t\"wo", "n": 1}"#.to_vec()
    );
    assert!(parse(&out, 8).is_ok());
}

#[test]
fn edits_reject_overlap() {
    let mut edits = Edits::new();
    edits.replace(Span { start: 0, end: 4 }, vec![]);
    edits.replace(Span { start: 2, end: 6 }, vec![]);
    assert!(edits.apply(b"0123456789").is_err());
    let mut outside = Edits::new();
    outside.replace(Span { start: 8, end: 20 }, vec![]);
    assert!(outside.apply(b"0123").is_err());
}
