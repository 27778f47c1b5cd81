//! Checks that turn a candidate into a finding: checksums, issuer and number ranges, entropy.

/// The Luhn checksum over the ASCII digits of `digits` (other bytes are skipped).
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    let mut count = 0;
    for &b in digits.iter().rev().filter(|b| b.is_ascii_digit()) {
        let mut d = u32::from(b - b'0');
        if count % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        count += 1;
    }
    count > 0 && sum % 10 == 0
}

/// Whether `digits` (ASCII digits only) is a plausible card number: 12 to 19 digits, an issuer
/// prefix of a major network (Visa, Mastercard, Maestro, Amex, Discover, JCB, Diners, UnionPay),
/// Luhn valid.
pub fn card(digits: &[u8]) -> bool {
    let n = digits.len();
    if !(12..=19).contains(&n) || !luhn(digits) {
        return false;
    }
    let prefix = |len: usize| -> u32 {
        digits
            .iter()
            .take(len)
            .fold(0, |acc, &b| acc * 10 + u32::from(b - b'0'))
    };
    let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
    // Maestro: 50 and 56 to 69, 12 to 19 digits.
    if (p2 == 50 || (56..=69).contains(&p2)) && n >= 12 {
        return true;
    }
    if n == 12 {
        return false;
    }
    match p1 {
        1 => p4 == 1800 && n == 15,
        4 => matches!(n, 13 | 16 | 19),
        5 => (51..=55).contains(&p2) && n == 16,
        2 => ((2221..=2720).contains(&p4) && n == 16) || (p4 == 2131 && n == 15),
        3 => {
            (matches!(p2, 34 | 37) && n == 15)
                || (p2 == 35 && (16..=19).contains(&n))
                || (((300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39))
                    && (14..=19).contains(&n))
        }
        6 => {
            (p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) || p2 == 62)
                && (16..=19).contains(&n)
        }
        _ => false,
    }
}

/// Whether the nine ASCII digits of `digits` are a US social security number that can be issued:
/// area not 000, 666 or 9xx; group not 00; serial not 0000.
pub fn ssn(digits: &[u8]) -> bool {
    if digits.len() != 9 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        digits
            .get(r)
            .unwrap_or_default()
            .iter()
            .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0'))
    };
    let (area, group, serial) = (num(0..3), num(3..5), num(5..9));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// IBAN lengths by country code.
#[rustfmt::skip]
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24), (b"AE", 23), (b"AL", 28), (b"AT", 20), (b"AZ", 28), (b"BA", 20), (b"BE", 16),
    (b"BG", 22), (b"BH", 22), (b"BR", 29), (b"BY", 28), (b"CH", 21), (b"CR", 22), (b"CY", 28),
    (b"CZ", 24), (b"DE", 22), (b"DK", 18), (b"DO", 28), (b"EE", 20), (b"EG", 29), (b"ES", 24),
    (b"FI", 18), (b"FO", 18), (b"FR", 27), (b"GB", 22), (b"GE", 22), (b"GI", 23), (b"GL", 18),
    (b"GR", 27), (b"GT", 28), (b"HR", 21), (b"HU", 28), (b"IE", 22), (b"IL", 23), (b"IQ", 23),
    (b"IS", 26), (b"IT", 27), (b"JO", 30), (b"KW", 30), (b"KZ", 20), (b"LB", 28), (b"LC", 32),
    (b"LI", 21), (b"LT", 20), (b"LU", 20), (b"LV", 21), (b"MC", 27), (b"MD", 24), (b"ME", 22),
    (b"MK", 19), (b"MR", 27), (b"MT", 31), (b"MU", 30), (b"NL", 18), (b"NO", 15), (b"PK", 24),
    (b"PL", 28), (b"PS", 29), (b"PT", 25), (b"QA", 29), (b"RO", 24), (b"RS", 22), (b"SA", 24),
    (b"SC", 31), (b"SE", 24), (b"SI", 19), (b"SK", 24), (b"SM", 27), (b"ST", 25), (b"SV", 28),
    (b"TL", 23), (b"TN", 24), (b"TR", 26), (b"UA", 29), (b"VA", 22), (b"VG", 24), (b"XK", 20),
];

/// The IBAN length of the country `code` (two upper-case letters), if it issues IBANs.
pub fn iban_length(code: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| c.as_slice() == code)
        .map(|&(_, n)| n)
}

/// Whether `iban` (upper-case letters and digits, no spaces) has its country's length and a valid
/// mod-97 check.
pub fn iban(iban: &[u8]) -> bool {
    let Some(len) = iban.get(..2).and_then(iban_length) else {
        return false;
    };
    if iban.len() != len || !iban.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut rem = 0u32;
    for &b in tail.iter().chain(head) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Shannon entropy of `bytes` in bits per byte.
pub fn entropy(bytes: &[u8]) -> f32 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u16; 128];
    let mut other = 0u16;
    for &b in bytes {
        match counts.get_mut(usize::from(b)) {
            Some(c) => *c = c.saturating_add(1),
            None => other = other.saturating_add(1),
        }
    }
    let n = bytes.len() as f32;
    counts
        .iter()
        .chain(std::iter::once(&other))
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f32::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn checksums() {
        assert!(luhn(b"4111 1111 1111 1111"));
        assert!(!luhn(b"4111 1111 1111 1112"));
        assert!(card(b"4111111111111111"));
        assert!(card(b"378282246310005"));
        assert!(!card(b"1234567812345670"));
        assert!(ssn(b"713172503"));
        for bad in [
            b"000172503",
            b"666172503",
            b"900172503",
            b"713002503",
            b"713170000",
        ] {
            assert!(!ssn(bad));
        }
        assert!(iban(b"DE89370400440532013000"));
        assert!(iban(b"GB82WEST12345698765432"));
        assert!(!iban(b"DE88370400440532013000"));
        assert!(!iban(b"DE8937040044053201300"));
    }

    #[test]
    fn entropy_orders_randomness() {
        assert!(entropy(b"aaaaaaaaaaaaaaaa") < 0.1);
        assert!(entropy(b"Ki82DlwEBI9dqr4k3cZPH6Z5fP39XgEP") > 4.0);
    }
}
