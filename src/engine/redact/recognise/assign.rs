//! Values announced by a key: `password=…`, `"api_key": "…"`, `token = '…'`, `Bearer …`,
//! `--user name:pass`, SQL `PASSWORD '…'` / `IDENTIFIED BY …`; and the key words that, earlier
//! on the line, make a random-looking token a credential.

use super::secrets::{balanced_case, prefixed};
use super::{Step, Text, found, letters_and_digits};
use crate::engine::redact::entity::Entity;
use crate::engine::redact::scan::{LOOKBACK, PUNCT, Token, class};
use crate::engine::redact::validate::entropy;

/// Longest value read after a key.
const MAX_VALUE: usize = 512;

const KEYWORDS: [&[u8]; 14] = [
    b"key",
    b"token",
    b"secret",
    b"pass",
    b"pwd",
    b"auth",
    b"cred",
    b"api",
    b"apikey",
    b"secretkey",
    b"accesskey",
    b"accesstoken",
    b"authtoken",
    b"privatekey",
];

/// Whether a keyword starts a word part of `word`: at its start, after a non-letter, or at a
/// capital (`api_key`, `apiKey`, `x-auth`; not `winapi`, `capital`, `monkey`).
fn has_keyword(word: &[u8]) -> bool {
    KEYWORDS.iter().any(|k| {
        word.windows(k.len()).enumerate().any(|(i, w)| {
            w.eq_ignore_ascii_case(k)
                && (i == 0
                    || !word.get(i - 1).is_some_and(u8::is_ascii_alphabetic)
                    || word.get(i).is_some_and(u8::is_ascii_uppercase))
        })
    })
}

/// Whether a keyword appears on the same line within [`LOOKBACK`] bytes before `start`.
pub(super) fn keyword_before(t: &Text<'_>, start: usize) -> bool {
    let window = t.slice(start.saturating_sub(LOOKBACK), start);
    let line = match window.iter().rposition(|&b| b == b'\n') {
        Some(nl) => window.get(nl + 1..).unwrap_or_default(),
        None => window,
    };
    line.split(|b| b.is_ascii_whitespace()).any(has_keyword)
}

/// Words after which a space and a credential follow: `Bearer …`, `Basic …`, `Token …`,
/// `--user name:pass`, `-u name:pass`, SQL `PASSWORD …`.
pub(crate) fn special_word(word: &[u8]) -> bool {
    let candidate: &[u8] = match (word.len(), word.first().map(|b| b | 0x20)) {
        (6, Some(b'b')) => b"bearer",
        (5, Some(b'b')) => b"basic",
        (5, Some(b't')) => b"token",
        (8, Some(b'p')) => b"password",
        (6, Some(b'-')) => b"--user",
        (2, Some(b'-')) => b"-u",
        _ => return false,
    };
    word.eq_ignore_ascii_case(candidate)
}

/// Whether a word may announce a password (`pw`, `pwd`, `…pass…`, `identified`), so that what
/// follows it (`BY '…'`) must be read.
pub(crate) fn password_word(word: &[u8]) -> bool {
    let ends = |e: &[u8]| {
        word.len() >= e.len()
            && word
                .get(word.len() - e.len()..)
                .is_some_and(|x| x.eq_ignore_ascii_case(e))
    };
    ends(b"pw")
        || ends(b"pwd")
        || ends(b"identified")
        || word.windows(4).any(|w| w.eq_ignore_ascii_case(b"pass"))
}

/// A key word that announces a value: `password=`, `"api_key": "…"`, `token = '…'`,
/// `Bearer …`, `--user …`, SQL `PASSWORD '…'` and `IDENTIFIED … BY '…'`.
pub(super) fn key_word(t: &Text<'_>, tok: Token, bytes: &[u8]) -> Option<Step> {
    let mut i = tok.end;
    // INVARIANT: every byte read below before `value` lies within `tok.end + 24`; reading past
    // the end of a growing text must say `More`, never guess.
    if t.short(i + 4) {
        return Some(Step::More);
    }
    let next = t.at(i)?;
    // Fast exit for ordinary words: only a few short words announce a value after a space.
    let candidate = match next {
        b' ' => {
            special_word(bytes)
                || matches!(t.at(i + 1), Some(b'=' | b':' | b'\'' | b'"'))
                || t.slice(i + 1, i + 4).eq_ignore_ascii_case(b"by ")
                || (t.at(i + 1) == Some(b' ') && matches!(t.at(i + 2), Some(b'=' | b':')))
                || bytes.eq_ignore_ascii_case(b"password")
        }
        b':' | b'=' | b'"' | b'\'' | b'(' => bytes.len() <= 64,
        _ => false,
    };
    if !candidate {
        return None;
    }
    let password = password_word(bytes);
    let special = special_word(bytes);
    if !password && !special && !has_keyword(bytes) {
        return None;
    }
    let lower = bytes.to_ascii_lowercase();
    if t.short(i + 24) {
        return Some(Step::More);
    }
    if next == b' ' {
        let entity = match lower.as_slice() {
            b"bearer" | b"basic" | b"token" => Some(Entity::GenericSecret),
            b"--user" | b"-u" => Some(Entity::Password),
            _ => None,
        };
        if let Some(entity) = entity {
            if t.at(i + 1)
                .is_some_and(|b| !b.is_ascii_whitespace() && b != b'=' && b != b':')
            {
                return Some(value(t, i + 1, entity, 8));
            }
        }
    }
    // Past a closing quote, spaces, then `:`, `=`, `:=` or `=>`; or a SQL `BY '…'` / `'…'`.
    if matches!(t.at(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    while t.at(i) == Some(b' ') && i < tok.end + 4 {
        i += 1;
    }
    // SQL: `IDENTIFIED BY x`, `PASSWORD 'x'`, `PASSWORD x`, `PASSWORD('x')`.
    let by = password && t.slice(i, i + 3).eq_ignore_ascii_case(b"by ");
    if by {
        i += 3;
    }
    if password && t.at(i) == Some(b'(') {
        i += 1;
    }
    let sql_value = matches!(t.at(i), Some(b'\'' | b'"'))
        || (lower == b"password" && t.at(i).is_some_and(|b| b.is_ascii_alphanumeric()));
    if password && i > tok.end && (by || sql_value) {
        return Some(value(t, i, Entity::ConnectionString, 4));
    }
    if !matches!(t.at(i), Some(b':' | b'=')) {
        return Some(Step::No);
    }
    i += 1;
    if matches!(t.at(i), Some(b'=' | b'>')) {
        i += 1;
    }
    while t.at(i) == Some(b' ') && i < tok.end + 10 {
        i += 1;
    }
    let (entity, min) = if password {
        (Entity::Password, 6)
    } else {
        (Entity::GenericSecret, 8)
    };
    Some(value(t, i, entity, min))
}

fn placeholder(v: &[u8]) -> bool {
    let lower = v.to_ascii_lowercase();
    let first = lower.first().copied().unwrap_or(0);
    let repeated = lower.iter().all(|&b| b == first);
    repeated
        || matches!(first, b'<' | b'$' | b'{' | b'%' | b'[' | b'*')
        || [
            &b"xxx"[..],
            b"your",
            b"example",
            b"placeholder",
            b"changeme",
            b"redacted",
            b"dummy",
            b"null",
            b"none",
            b"password",
            b"secret",
            b"token",
        ]
        .iter()
        .any(|p| lower.windows(p.len()).any(|w| w == *p))
}

/// The value starting at `start` (maybe quoted), found as `entity` if it looks like a secret.
fn value(t: &Text<'_>, start: usize, entity: Entity, min: usize) -> Step {
    let quote = t.at(start).filter(|b| matches!(b, b'"' | b'\''));
    let v_start = if quote.is_some() { start + 1 } else { start };
    let mut end = v_start;
    loop {
        let Some(b) = t.at(end) else {
            if !t.last {
                return Step::More;
            }
            break;
        };
        let stop = match quote {
            Some(q) => b == q || b == b'\n' || b == b'\r',
            None => {
                b.is_ascii_whitespace()
                    || matches!(
                        b,
                        b',' | b';' | b')' | b'}' | b']' | b'"' | b'\'' | b'<' | b'>' | b'`' | b'='
                    )
            }
        };
        if stop {
            break;
        }
        end += 1;
        if end - v_start > MAX_VALUE {
            return Step::No;
        }
    }
    let v = t.slice(v_start, end);
    if v.len() < min || placeholder(v) {
        return Step::No;
    }
    if let Some(known) = prefixed(v) {
        return found(v_start, end, known);
    }
    let classes = v.iter().fold(0, |acc, &c| acc | class(c));
    let looks_secret = match entity {
        Entity::Password | Entity::ConnectionString => {
            // A digit, or a symbol other than `-_.` (not `ConvertTo-SecureString`).
            classes & super::DIGIT != 0
                || v.iter()
                    .any(|b| !b.is_ascii_alphanumeric() && !b"-_.".contains(b))
        }
        _ => {
            let digits_only = classes & (super::UPPER | super::LOWER | PUNCT) == 0;
            (letters_and_digits(classes)
                || (v.len() >= 16 && balanced_case(v))
                || (digits_only && v.len() >= 12))
                && entropy(v) >= 2.5
        }
    };
    if looks_secret {
        found(v_start, end, entity)
    } else {
        Step::No
    }
}
