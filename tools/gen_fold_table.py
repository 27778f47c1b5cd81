#!/usr/bin/env python3
"""Generates src/engine/inject/fold_table.rs: how the injection normaliser folds each non-ASCII
code point below U+20000.

Each entry is a u32: kind in bits 29..31, an ASCII byte in bits 21..28, a char in bits 0..20.
  KEEP        the char, lowercased (CJK, Cyrillic, Greek, …)
  ASCII       an ASCII expansion (EXPANSIONS[char]): accents stripped, compatibility forms
              (fullwidth, mathematical, circled, ligatures, super/subscripts, small capitals)
  CONFUSABLE  a letter of another script that looks like an ASCII letter: the char (lowercased)
              in its own script, the ASCII byte when the word it sits in is Latin
  DROP        invisible: format controls (zero-width, bidi, soft hyphen), combining marks
  SEP         a separator: spaces and punctuation of other scripts
Only the pages in PAGES_OF_INTEREST are tabled (Latin, Greek, Cyrillic, Armenian, punctuation,
compatibility and mathematical forms); the normaliser treats symbol and emoji blocks as separators by
range, and every other code point as itself.

Run with the Python the Unicode data should come from:  python3 tools/gen_fold_table.py
"""

import os
import unicodedata

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "src", "engine", "inject", "fold_table.rs")

KEEP, ASCII, CONFUSABLE, DROP, SEP = 0, 1, 2, 3, 4
LIMIT = 0x20000
PAGES_OF_INTEREST = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x1D, 0x1E, 0x1F, 0x20, 0x21, 0x24, 0x27, 0x2C, 0x30,
                     0xA7, 0xAB, 0xFB, 0xFE, 0xFF, 0x1D4, 0x1D5, 0x1D6, 0x1D7, 0x1F1]

# Letters of other scripts that look like Latin ones, by the original (cased) code point.
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ӏ": "l", "ү": "y", "ғ": "f", "ь": "b", "ɡ": "g",
    "А": "a", "В": "b", "Е": "e", "Ё": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p", "С": "c",
    "Т": "t", "У": "y", "Х": "x", "І": "i", "Ї": "i", "Ј": "j", "Ѕ": "s", "Ԁ": "d", "Ԛ": "q", "Ԝ": "w",
    "Һ": "h", "Ӏ": "l", "Ү": "y",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m", "Ν": "n", "Ο": "o",
    "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x", "Ϲ": "c",
    # Armenian
    "օ": "o", "ո": "n", "ս": "u", "հ": "h", "ց": "g", "ա": "w", "զ": "q",
}

# Latin letters NFKD leaves alone but that read as ASCII letters.
EXTRA_ASCII = {
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j",
    "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u",
    "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "ı": "i", "ɑ": "a", "ɡ": "g", "ł": "l", "Ł": "l", "ø": "o",
    "Ø": "o", "đ": "d", "Đ": "d", "ħ": "h", "ŧ": "t", "ƀ": "b", "ƚ": "l", "ɨ": "i", "ʉ": "u", "ß": "ss",
    "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "þ": "th", "ð": "d", "ĸ": "k", "ſ": "s", "ɩ": "i",
    "ɛ": "e", "ɔ": "o", "ʋ": "v", "ƴ": "y", "ȷ": "j", "ɾ": "r",
}


def classify(cp):
    ch = chr(cp)
    cat = unicodedata.category(ch)
    if ch in CONFUSABLES:
        return CONFUSABLE, CONFUSABLES[ch], ch.lower()
    if ch in EXTRA_ASCII:
        return ASCII, EXTRA_ASCII[ch], None
    if cat in ("Mn", "Me") or cat == "Cf":
        return DROP, None, None
    if 0xFE00 <= cp <= 0xFE0F:
        return DROP, None, None
    if cat.startswith("Z") or cat in ("Cc",):
        return SEP, None, None
    decomposed = unicodedata.normalize("NFKD", ch)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Me")).lower()
    if stripped and stripped != ch.lower() and all(c.isascii() and c.isalnum() for c in stripped) and len(stripped) <= 4:
        return ASCII, stripped, None
    if stripped and len(stripped) == 1 and stripped.isascii() and not stripped.isalnum():
        # Fullwidth and other compatibility punctuation: the ASCII punctuation itself.
        return ASCII, stripped, None
    if cat.startswith("P") or cat.startswith("S"):
        return SEP, None, None
    low = ch.lower()
    if len(low) == 1 and low != ch:
        return KEEP, None, low
    return None


def main():
    expansions = []
    index = {}
    pages = {}
    for cp in (p << 8 | i for p in PAGES_OF_INTEREST for i in range(256)):
        if cp < 0x80:
            continue
        c = classify(cp)
        if c is None:
            continue
        kind, text, low = c
        if kind == ASCII:
            if text not in index:
                index[text] = len(expansions)
                expansions.append(text)
            value = (ASCII << 29) | index[text]
        elif kind == CONFUSABLE:
            value = (CONFUSABLE << 29) | (ord(text) << 21) | ord(low)
        elif kind == KEEP:
            value = (KEEP << 29) | ord(low)
        else:
            value = kind << 29
        pages.setdefault(cp >> 8, {})[cp & 0xFF] = value
    page_ids = sorted(pages)
    lines = [
        "// @generated by tools/gen_fold_table.py from Python's Unicode "
        f"{unicodedata.unidata_version} data. Do not edit.",
        "",
        "/// Page number (1-based into [`PAGES`]) for each 256-code-point block below U+20000; 0: no entries.",
        f"pub(super) static PAGE_INDEX: [u8; {LIMIT >> 8}] = [",
    ]
    idx = [0] * (LIMIT >> 8)
    for n, p in enumerate(page_ids):
        idx[p] = n + 1
    for i in range(0, len(idx), 32):
        lines.append("    " + ", ".join(str(x) for x in idx[i:i + 32]) + ",")
    lines.append("];")
    lines.append("")
    lines.append("/// The pages: one entry per code point; 0 (KEEP of U+0000) means the code point folds to itself.")
    lines.append(f"pub(super) static PAGES: [[u32; 256]; {len(page_ids)}] = [")
    for p in page_ids:
        entries = pages[p]
        row = [entries.get(i, 0) for i in range(256)]
        lines.append("    [")
        for i in range(0, 256, 16):
            lines.append("        " + ", ".join(f"0x{x:08x}" for x in row[i:i + 16]) + ",")
        lines.append("    ],")
    lines.append("];")
    lines.append("")
    lines.append("/// ASCII expansions referenced by ASCII entries.")
    lines.append(f"pub(super) static EXPANSIONS: [&str; {len(expansions)}] = [")
    for i in range(0, len(expansions), 16):
        lines.append("    " + ", ".join('"' + e.replace("\\", "\\\\").replace('"', '\\"') + '"' for e in expansions[i:i + 16]) + ",")
    lines.append("];")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {OUT}: {len(page_ids)} pages, {len(expansions)} expansions")


if __name__ == "__main__":
    main()
