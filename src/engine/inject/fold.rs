//! Per-character folding for non-ASCII text, backed by the generated [`fold_table`](super::fold_table).

use super::fold_table::{EXPANSIONS, PAGE_INDEX, PAGES};

/// How one non-ASCII character folds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fold {
    /// Itself, lowercased.
    Keep(char),
    /// An ASCII spelling: accent stripped, compatibility form resolved (`é`→`e`, `ﬁ`→`fi`, `𝐀`→`a`).
    Ascii(&'static str),
    /// A letter of another script that looks like an ASCII one (Cyrillic `о`): `own` in its own
    /// script, `ascii` when the word around it is Latin.
    Confusable {
        /// The letter, lowercased, in its own script.
        own: char,
        /// The ASCII letter it imitates.
        ascii: u8,
    },
    /// Invisible: format controls (zero-width, bidi, soft hyphen), combining marks.
    Drop,
    /// A separator: spaces, punctuation and symbols of other scripts, emoji.
    Sep,
    /// A Unicode tag character (U+E0000–E007F) carrying this ASCII byte: hidden text.
    Tag(u8),
    /// A variation selector carrying this byte (the "ASCII in variation selectors" encoding).
    VarSel(u8),
}

const KIND_KEEP: u32 = 0;
const KIND_ASCII: u32 = 1;
const KIND_CONFUSABLE: u32 = 2;
const KIND_DROP: u32 = 3;
const KIND_SEP: u32 = 4;

/// Folds a non-ASCII character.
pub fn fold(c: char) -> Fold {
    let cp = u32::from(c);
    match cp {
        0xFE00..=0xFE0F => return Fold::VarSel((cp - 0xFE00) as u8),
        0xE0100..=0xE01EF => return Fold::VarSel((cp - 0xE0100 + 16) as u8),
        0xE0020..=0xE007E => return Fold::Tag((cp - 0xE0000) as u8),
        0xE0000..=0xE007F => return Fold::Drop,
        _ => {}
    }
    let page = usize::try_from(cp >> 8)
        .ok()
        .and_then(|p| PAGE_INDEX.get(p))
        .copied()
        .unwrap_or(0);
    if page == 0 {
        return match cp {
            0x2190..=0x2BFF | 0x1F000..=0x1FAFF => Fold::Sep,
            _ => Fold::Keep(c),
        };
    }
    let entry = PAGES
        .get(usize::from(page) - 1)
        .and_then(|p| p.get((cp & 0xFF) as usize))
        .copied()
        .unwrap_or(0);
    let value = entry & 0x1F_FFFF;
    match entry >> 29 {
        KIND_ASCII => EXPANSIONS
            .get(value as usize)
            .map_or(Fold::Keep(c), |s| Fold::Ascii(s)),
        KIND_CONFUSABLE => Fold::Confusable {
            own: char::from_u32(value).unwrap_or(c),
            ascii: ((entry >> 21) & 0x7F) as u8,
        },
        KIND_DROP => Fold::Drop,
        KIND_SEP => Fold::Sep,
        KIND_KEEP if value != 0 => Fold::Keep(char::from_u32(value).unwrap_or(c)),
        _ => Fold::Keep(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn folds_each_kind() {
        assert_eq!(fold('é'), Fold::Ascii("e"));
        assert_eq!(fold('É'), Fold::Ascii("e"));
        assert_eq!(fold('ß'), Fold::Ascii("ss"));
        assert_eq!(fold('ﬁ'), Fold::Ascii("fi"));
        assert_eq!(fold('Ｉ'), Fold::Ascii("i"));
        assert_eq!(fold('！'), Fold::Ascii("!"));
        assert_eq!(fold('𝐈'), Fold::Ascii("i"));
        assert_eq!(fold('𝕚'), Fold::Ascii("i"));
        assert_eq!(fold('ℎ'), Fold::Ascii("h"));
        assert_eq!(fold('ⓘ'), Fold::Ascii("i"));
        assert_eq!(fold('①'), Fold::Ascii("1"));
        assert_eq!(fold('ᴀ'), Fold::Ascii("a"));
        assert_eq!(
            fold('о'),
            Fold::Confusable {
                own: 'о',
                ascii: b'o'
            }
        );
        assert_eq!(
            fold('Р'),
            Fold::Confusable {
                own: 'р',
                ascii: b'p'
            }
        );
        assert_eq!(
            fold('ο'),
            Fold::Confusable {
                own: 'ο',
                ascii: b'o'
            }
        );
        assert_eq!(fold('Я'), Fold::Keep('я'));
        assert_eq!(fold('Ω'), Fold::Keep('ω'));
        assert_eq!(fold('中'), Fold::Keep('中'));
        assert_eq!(fold('\u{200b}'), Fold::Drop);
        assert_eq!(fold('\u{202e}'), Fold::Drop);
        assert_eq!(fold('\u{00ad}'), Fold::Drop);
        assert_eq!(fold('\u{0301}'), Fold::Drop);
        assert_eq!(fold('\u{3000}'), Fold::Sep);
        assert_eq!(fold('。'), Fold::Sep);
        assert_eq!(fold('😀'), Fold::Sep);
        assert_eq!(fold('\u{e0041}'), Fold::Tag(b'A'));
        assert_eq!(fold('\u{e007f}'), Fold::Drop);
        assert_eq!(fold('\u{fe0f}'), Fold::VarSel(15));
        assert_eq!(fold('\u{e0100}'), Fold::VarSel(16));
    }
}
