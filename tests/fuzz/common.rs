//! Shared by the library crates' `tests/fuzz.rs`: the proptest configuration and byte-level
//! mutations of real inputs.
#![allow(dead_code, reason = "each fuzz file uses a part of it")]

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config as ProptestConfig;

/// proptest's configuration: `FACTORY_FUZZ_CASES` cases per property (default 256), nothing
/// written to disk.
pub fn config() -> ProptestConfig {
    let cases = std::env::var("FACTORY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A change to hostile input: bytes, tokens and whole lines inserted, dropped or moved.
#[derive(Debug, Clone)]
pub enum Mutation {
    Insert(Index, &'static str),
    InsertBytes(Index, Vec<u8>),
    Delete(Index, usize),
    Replace(Index, u8),
    DupLine(Index),
    DropLine(Index),
    SwapLines(Index, Index),
}

/// One to four mutations, inserting `tokens` among other things.
pub fn mutations(tokens: &'static [&'static str]) -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        (any::<Index>(), prop::sample::select(tokens)).prop_map(|(i, t)| Mutation::Insert(i, t)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Mutation::InsertBytes(i, b)),
        (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        any::<Index>().prop_map(Mutation::DupLine),
        any::<Index>().prop_map(Mutation::DropLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ];
    prop::collection::vec(one, 1..5)
}

/// `base` with `mutations` applied in order.
pub fn apply(base: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = base.to_vec();
    for m in mutations {
        let len = out.len();
        let mut lines: Vec<Vec<u8>> = out
            .split_inclusive(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect();
        match m {
            Mutation::Insert(i, t) => {
                drop(out.splice(i.index(len + 1)..i.index(len + 1), t.bytes()))
            }
            Mutation::InsertBytes(i, b) => {
                drop(out.splice(i.index(len + 1)..i.index(len + 1), b.iter().copied()))
            }
            Mutation::Delete(i, n) if len > 0 => {
                let at = i.index(len);
                drop(out.drain(at..(at + n).min(len)));
            }
            Mutation::Replace(i, b) if len > 0 => out[i.index(len)] = *b,
            Mutation::DupLine(i) if !lines.is_empty() => {
                let at = i.index(lines.len());
                lines.insert(at, lines[at].clone());
                out = lines.concat();
            }
            Mutation::DropLine(i) if !lines.is_empty() => {
                lines.remove(i.index(lines.len()));
                out = lines.concat();
            }
            Mutation::SwapLines(a, b) if !lines.is_empty() => {
                let n = lines.len();
                lines.swap(a.index(n), b.index(n));
                out = lines.concat();
            }
            _ => {}
        }
    }
    out
}
