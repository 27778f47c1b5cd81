//! The pure engine: everything the filter decides, with no knowledge of the proxy that hosts it.
//!
//! Nothing under `engine` imports `proxy_wasm`; it is tested natively and on wasm32.

/// A table of the 256 bytes' classes, built at compile time: `byte_table!(|c| expr)` for `u8`
/// classes (`c: u8`), `byte_table!(default; |c| expr)` for classes of another type. The static it
/// initialises needs `#[allow(clippy::indexing_slicing)]`: an index out of bounds in a constant
/// fails the build, never a request.
macro_rules! byte_table {
    (|$c:ident| $class:expr) => {
        byte_table!(0u8; |$c| $class)
    };
    ($default:expr; |$c:ident| $class:expr) => {{
        let mut table = [$default; 256];
        let mut b = 0;
        while b < 256 {
            let $c = b as u8;
            table[b] = $class;
            b += 1;
        }
        table
    }};
}

pub mod api;
pub mod ascii;
pub mod exchange;
pub mod identity;
pub mod inject;
pub mod json;
pub mod policy;
pub mod quota;
pub mod redact;
pub mod route;
pub mod tools;

/// A deterministic xorshift generator for the tests' random inputs: each call gives a number in
/// `0..n`.
#[cfg(test)]
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}
