//! Numbers: payment cards, US social security numbers, phone numbers, IPv4 addresses, IBANs.
//!
//! A number is read as groups of digits joined by single separators (space, `-`, `.`), with an
//! optional leading `+` and one group in parentheses; then its shape and checksum decide what it
//! is. Random digits are not redacted: cards need Luhn and an issuer range, SSNs a range that can
//! be issued, IBANs their country's length and mod-97, phones a dialling format.

use super::{Step, Text, found};
use crate::engine::redact::entity::Entity;
use crate::engine::redact::scan::alnum;
use crate::engine::redact::validate;

/// Longest number read, separators included.
const MAX_NUMBER: usize = 40;
const MAX_GROUPS: usize = 8;

/// A number as read: digits, group lengths and where each group ends.
struct Number {
    digits: [u8; 24],
    count: usize,
    groups: [(u8, usize, u8); MAX_GROUPS],
    group_count: usize,
    plus: bool,
    paren: bool,
}

impl Number {
    fn digits(&self) -> &[u8] {
        self.digits.get(..self.count).unwrap_or_default()
    }

    fn lens(&self) -> impl Iterator<Item = u8> + '_ {
        self.groups.iter().take(self.group_count).map(|g| g.0)
    }

    /// The separator before group `k` (0 for the first).
    fn sep(&self, k: usize) -> u8 {
        self.groups.get(k).map_or(0, |g| g.2)
    }

    fn same_sep(&self, allowed: &[u8]) -> bool {
        let first = self.sep(1);
        allowed.contains(&first) && (1..self.group_count).all(|k| self.sep(k) == first)
    }

    fn lens_are(&self, want: &[u8]) -> bool {
        self.group_count == want.len() && self.lens().eq(want.iter().copied())
    }

    /// Keeps the first `k` groups.
    fn truncate(&mut self, k: usize) {
        let keep: usize = self.lens().take(k).map(usize::from).sum();
        self.count = keep;
        self.group_count = k;
    }
}

/// Reads a number starting at `start` (a digit, `+` or `(`) and decides what it is.
pub fn number(t: &Text<'_>, start: usize) -> Step {
    if start > 0 && alnum(t.bytes.get(start - 1)) {
        return Step::No;
    }
    let mut n = Number {
        digits: [0; 24],
        count: 0,
        groups: [(0, 0, 0); MAX_GROUPS],
        group_count: 0,
        plus: false,
        paren: false,
    };
    let limit = start + MAX_NUMBER;
    let mut i = start;
    if t.at(i) == Some(b'+') {
        n.plus = true;
        i += 1;
    }
    let mut sep = 0u8;
    loop {
        if i >= limit {
            break;
        }
        // One group, maybe in parentheses: `(624)`, `(0)`.
        let open = t.at(i) == Some(b'(');
        let g_start = if open { i + 1 } else { i };
        let mut j = g_start;
        while let Some(b) = t.at(j).filter(u8::is_ascii_digit) {
            if n.count < n.digits.len() {
                if let Some(d) = n.digits.get_mut(n.count) {
                    *d = b;
                }
                n.count += 1;
            } else {
                return Step::No;
            }
            j += 1;
        }
        if t.short(j) {
            return Step::More;
        }
        let len = j - g_start;
        if len == 0 || (open && t.at(j) != Some(b')')) {
            break;
        }
        if open {
            if n.paren || n.group_count > 1 {
                return Step::No;
            }
            n.paren = true;
            j += 1;
        }
        if n.group_count == MAX_GROUPS {
            return Step::No;
        }
        if let Some(g) = n.groups.get_mut(n.group_count) {
            *g = (u8::try_from(len).unwrap_or(u8::MAX), j, sep);
        }
        n.group_count += 1;
        i = j;
        // A separator counts only if another group follows it.
        match t.at(i) {
            Some(s @ (b' ' | b'-' | b'.')) => {
                if t.short(i + 1) {
                    return Step::More;
                }
                match t.at(i + 1) {
                    Some(b'0'..=b'9' | b'(') => {
                        sep = s;
                        i += 1;
                    }
                    _ => break,
                }
            }
            Some(b'0'..=b'9' | b'(') if open => sep = b' ',
            None if !t.last => return Step::More,
            _ => break,
        }
        if t.at(i) == Some(b'(') && t.short(i + 1) {
            return Step::More;
        }
    }
    // Try the whole run, then without its last groups (a number followed by another).
    while n.group_count > 0 {
        let mut end = n.groups.get(n.group_count - 1).map_or(start, |g| g.1);
        // A phone extension: `x4587`.
        let ext = if t.at(end) == Some(b'x') && t.at(end + 1).is_some_and(|b| b.is_ascii_digit()) {
            (end + 1..end + 7).find(|&i| !t.at(i).is_some_and(|b| b.is_ascii_digit()))
        } else {
            None
        };
        if let Some(e) = ext {
            if t.short(e) {
                return Step::More;
            }
        }
        if !alnum(t.bytes.get(ext.unwrap_or(end))) {
            match classify(&n, t, end) {
                Some(Entity::Phone) => end = ext.unwrap_or(end),
                Some(entity) if ext.is_none() => return found(start, end, entity),
                _ => end = start,
            }
            if end > start {
                return found(start, end, Entity::Phone);
            }
        }
        if n.group_count == 1 {
            break;
        }
        n.truncate(n.group_count - 1);
    }
    Step::No
}

fn classify(n: &Number, t: &Text<'_>, end: usize) -> Option<Entity> {
    let d = n.digits();
    let first = d.first().copied().unwrap_or(0);
    let count = d.len();
    if !n.plus && !n.paren && n.group_count == 4 && n.same_sep(b".") {
        // IPv4: four groups of up to three digits, each at most 255, not followed by `.digit`.
        let ok = n.lens().all(|l| l <= 3) && octets(d, n).all(|o| o <= 255);
        let more = t.at(end) == Some(b'.') && t.at(end + 1).is_some_and(|b| b.is_ascii_digit());
        return (ok && !more).then_some(Entity::IpAddress);
    }
    if !n.plus && !n.paren {
        let card_shape = n.group_count == 1
            || (n.same_sep(b" -")
                && (n.lens().take(n.group_count - 1).all(|l| l == 4)
                    || n.lens_are(&[4, 6, 5])
                    || n.lens_are(&[4, 6, 4])));
        if card_shape && validate::card(d) {
            return Some(Entity::CreditCard);
        }
        let ssn_shape = n.group_count == 1 || (n.lens_are(&[3, 2, 4]) && n.same_sep(b"- "));
        if count == 9 && ssn_shape && validate::ssn(d) {
            return Some(Entity::UsSsn);
        }
    }
    phone(n, first, count).then_some(Entity::Phone)
}

fn octets<'a>(d: &'a [u8], n: &'a Number) -> impl Iterator<Item = u32> + 'a {
    let mut at = 0usize;
    n.lens().map(move |l| {
        let l = usize::from(l);
        let v = d
            .get(at..at + l)
            .unwrap_or_default()
            .iter()
            .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0'));
        at += l;
        v
    })
}

/// Dialling formats: E.164 (`+` and 8 to 15 digits), national numbers with a trunk `0` or an area
/// code in parentheses, and the grouped forms of US/CA, IT, ES, IN.
fn phone(n: &Number, first: u8, count: usize) -> bool {
    if n.plus {
        return (8..=15).contains(&count);
    }
    let dotted_or_spaced = n.same_sep(b" -.");
    if n.paren {
        let area = n.groups.first().map_or(0, |g| g.0);
        return (2..=4).contains(&area) && (9..=11).contains(&count) && n.group_count >= 2;
    }
    if n.group_count < 2 {
        return false;
    }
    if first == b'0' {
        // Not `0123 4567 8901`: the tail of a longer card-like number.
        return (10..=12).contains(&count) && n.lens().all(|l| l >= 2) && !n.lens_are(&[4, 4, 4]);
    }
    let mobile = matches!(first, b'6'..=b'9');
    (n.lens_are(&[3, 3, 4]) && dotted_or_spaced)
        || (n.lens_are(&[1, 3, 3, 4]) && first == b'1' && n.same_sep(b"-. "))
        || (n.lens_are(&[3, 3, 3]) && mobile && n.same_sep(b" "))
        || (n.lens_are(&[5, 5]) && mobile && n.same_sep(b" -"))
        || (n.lens_are(&[2, 3, 2, 2]) && matches!(first, b'8' | b'9') && n.same_sep(b" "))
}

/// An IBAN starting at `start`: two capital letters, two check digits, then letters and digits,
/// possibly in space-separated groups of four.
pub fn iban(t: &Text<'_>, start: usize) -> Step {
    let head = t.slice(start, start + 4);
    let shaped = head.len() == 4
        && head.iter().take(2).all(u8::is_ascii_uppercase)
        && head.iter().skip(2).all(u8::is_ascii_digit);
    if !shaped {
        return Step::No;
    }
    let Some(len) = validate::iban_length(head.get(..2).unwrap_or_default()) else {
        return Step::No;
    };
    if start > 0 && alnum(t.bytes.get(start - 1)) {
        return Step::No;
    }
    let mut chars = [0u8; 34];
    let mut got = 0;
    let mut group = 0;
    let mut i = start;
    while got < len {
        match t.at(i) {
            Some(b) if b.is_ascii_alphanumeric() => {
                if let Some(c) = chars.get_mut(got) {
                    *c = b.to_ascii_uppercase();
                }
                got += 1;
                group += 1;
                i += 1;
            }
            Some(b' ') if group == 4 && alnum(t.bytes.get(i + 1)) => {
                group = 0;
                i += 1;
            }
            None if !t.last => return Step::More,
            Some(b' ') if t.short(i + 1) && group == 4 => return Step::More,
            _ => return Step::No,
        }
    }
    if t.short(i) {
        return Step::More;
    }
    if alnum(t.bytes.get(i)) {
        return Step::No;
    }
    if !validate::iban(chars.get(..len).unwrap_or_default()) {
        // An IBAN with a wrong check digit: its groups are not phone numbers either.
        return Step::Skip(i);
    }
    found(start, i, Entity::Iban)
}
