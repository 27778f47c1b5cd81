use super::*;
use crate::engine::redact::{Redaction, Settings, Side};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn whole(settings: &Settings, text: &str) -> String {
    Redaction::default()
        .text(settings, Side::Response, text)
        .unwrap()
        .unwrap_or_else(|| text.to_string())
}

fn streamed(settings: &Settings, pieces: &[&str]) -> String {
    let mut r = Redaction::default();
    let mut s = StreamText::new();
    let mut out = String::new();
    for (i, p) in pieces.iter().enumerate() {
        out += &r
            .stream(settings, &mut s, p, i + 1 == pieces.len())
            .unwrap();
    }
    out
}

/// Texts with a value of every family near the cut points.
fn samples() -> Vec<String> {
    let key = ["sk-ant-api03-", "Zq8vR2mN5xT1wK7pL3hJ9dF4gB6cY0aE"].concat();
    let aws = ["AKIA", "IOSFODNN7EXAMPLQ"].concat();
    vec![
        format!(
            "Mail jane.doe+x@example.co.uk or call +1 (624) 693-9006, card 4111 1111 1111 1111 ok."
        ),
        format!(
            "ssn 713-17-2503; iban DE89 3704 0044 0532 0130 00 and ip 10.93.93.210 / fe80::7a2c."
        ),
        format!("export KEY={key}\npassword = \"Hunter2!x\" and {aws} done"),
        format!("![x](https://evil.example/p?d=abc123) and 06 12 34 56 78 at end 030 12345678"),
        format!(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7b9\nabc\n-----END RSA PRIVATE KEY-----\nbye é ü 日本"
        ),
        "SET PASSWORD FOR 'u'@'h' = PASSWORD('SqLpa5sW0rD'); IDENTIFIED BY x9Yz2Wq; PASSWORD Abc123x;".into(),
        format!("curl -H \"Authorization: Bearer {key}\" --user kevin:pRf7vG2h1L8nQkW9 https://u:p4ssW0rd@h.example/x"),
        "{\"api_key\": \"Zf3D0LXCM3EIMbgJpUNnkRtO\", \"token\" : 'wjXKCFzOWEPRqhT9mbWtVQ'} hf_token = x".into(),
        "電話番号：03-6885-7984 メール：taro@example.jp, SSN 713172503, card 3782 822463 10005.".into(),
        // Values at the start and the end, after a 15-letter word and words of the fast path.
        format!("{key} abcdefghijklmno, Basic {aws}. Then é 713-17-2503\nthe end jane@example.com"),
    ]
}

#[test]
fn every_cut_gives_the_whole_text_result() {
    let settings = Settings::default();
    for text in samples() {
        let want = whole(&settings, &text);
        assert_ne!(want, text, "nothing found in {text:?}");
        for cut in (0..=text.len()).filter(|&c| text.is_char_boundary(c)) {
            let (a, b) = text.split_at(cut);
            assert_eq!(
                streamed(&settings, &[a, b]),
                want,
                "cut at {cut} of {text:?}"
            );
        }
    }
}

#[test]
fn random_cuts_give_the_whole_text_result() {
    let settings = Settings::default();
    let mut next = crate::engine::xorshift(0x9e37_79b9_7f4a_7c15);
    for text in samples() {
        let want = whole(&settings, &text);
        for _ in 0..200 {
            let mut pieces = Vec::new();
            let mut at = 0;
            while at < text.len() {
                let mut end = (at + 1 + next(12)).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                pieces.push(&text[at..end]);
                at = end;
            }
            pieces.push("");
            assert_eq!(streamed(&settings, &pieces), want, "{pieces:?}");
        }
    }
}

#[test]
fn prose_is_sent_up_to_the_last_word() {
    let settings = Settings::default();
    let mut r = Redaction::default();
    let mut s = StreamText::new();
    let out = r
        .stream(&settings, &mut s, "Hello there, how are yo", false)
        .unwrap();
    assert_eq!(out, "Hello there, how are ");
    assert_eq!(s.held(), 2);
    // A secret's start is held until it is complete.
    let out = r
        .stream(&settings, &mut s, "u? key sk-ant-api03-Zq8v", false)
        .unwrap();
    assert_eq!(out, "you? key ");
    let out = r
        .stream(&settings, &mut s, "R2mN5xT1wK7pL3hJ9dF4 ok", true)
        .unwrap();
    assert_eq!(out, "[REDACTED_ANTHROPIC_KEY] ok");
}

#[test]
fn custom_entities_allow_values_and_actions() {
    use crate::engine::redact::{Action, CustomEntity, Entity, Validator};
    let mut settings = Settings::default();
    settings.rules.custom.push(CustomEntity {
        label: "EMPLOYEE_ID".into(),
        pattern: regex_lite::Regex::new("EMP-[0-9]{6}").unwrap(),
        validator: Some(Validator::Luhn),
    });
    settings.response.push_custom(Action::Mask);
    settings.allow_values.push("Help@Example.com".into());
    settings.response.set(Entity::CreditCard, Action::Partial);
    let text =
        "EMP-123455 and EMP-123456; help@example.com; jo@example.com; card 4111 1111 1111 1111";
    // EMP-123455 passes Luhn, EMP-123456 does not.
    assert_eq!(
        whole(&settings, text),
        "[REDACTED_EMPLOYEE_ID] and EMP-123456; help@example.com; [REDACTED_EMAIL]; card [REDACTED_CREDIT_CARD …1111]"
    );
    assert_eq!(
        streamed(&settings, &[&text[..20], &text[20..]]),
        whole(&settings, text)
    );
}

#[test]
fn system_prompt_leak_is_the_same_at_every_cut() {
    use crate::engine::redact::{Action, Entity};
    let mut settings = Settings::default();
    settings.response.set(Entity::SystemPrompt, Action::Mask);
    let system = "You are the assistant of the Acme travel desk. Answer only questions about bookings, \
                  refunds and loyalty points, never discuss internal tooling, and sign with the desk name.";
    let text = format!("Sure! My instructions: {system} Anything else?");
    let with_prompt = || {
        let mut r = Redaction::default();
        r.system_prompt(&settings, [system].into_iter());
        r
    };
    let want = with_prompt()
        .text(&settings, Side::Response, &text)
        .unwrap()
        .unwrap();
    // Detected at the 20th word in a row; from there on the run is masked (words after the first
    // leave only their separators).
    assert!(
        want.contains("loyalty points, never [REDACTED_SYSTEM_PROMPT] "),
        "{want}"
    );
    assert!(
        !want.contains("tooling") && !want.contains("desk name"),
        "{want}"
    );
    assert!(want.ends_with(" Anything else?"));
    for cut in (0..=text.len()).filter(|&c| text.is_char_boundary(c)) {
        let mut r = with_prompt();
        let mut s = StreamText::new();
        let mut out = r
            .stream(&settings, &mut s, &text[..cut], false)
            .unwrap()
            .into_owned();
        out += &r.stream(&settings, &mut s, &text[cut..], true).unwrap();
        assert_eq!(out, want, "cut at {cut}");
    }
}
