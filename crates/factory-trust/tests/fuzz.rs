//! Hostile input never panics signature verification, and never makes a signature good:
//! arbitrary bytes as commit objects, the real signed commits of
//! `../shared/fixtures/signed-commits` with bytes and lines changed, real SSH signatures with
//! their signature bytes changed, forged OpenPGP signature packets, approval statements and notes,
//! allowed_signers files and keyrings. Approval statements survive their note line unchanged.
//!
//! `FACTORY_FUZZ_CASES=N` sets the number of cases per property (default 256).

use std::sync::LazyLock;

use factory_trust::approval::{
    self, CheckTime, DOMAIN, Kind, SignatureCheck, Statement, StatementSig,
};
use factory_trust::{
    AllowedSigners, Keyring, Verdict, civil, judge_now, signature_time, signed_commit,
    verify_commit,
};
use proptest::prelude::*;
use proptest::sample::Index;

#[path = "../../../tests/fuzz/common.rs"]
mod common;
use common::{apply, config, mutations};
use sequoia_openpgp as openpgp;
use ssh_key::{HashAlg, LineEnding, SshSig};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/signed-commits")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `(name, raw object)` of every real signed commit.
static COMMITS: LazyLock<Vec<(String, Vec<u8>)>> = LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/signed-commits");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "commit"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 7);
    out
});

/// The certificates of both fixture keyrings, one person each.
static RING: LazyLock<Keyring> = LazyLock::new(|| {
    let mut certs = Vec::new();
    for file in [
        "sequoia-openpgp-policy-keyring.asc",
        "libchewing-openpgp-policy-keyring.asc",
    ] {
        for (i, c) in Keyring::certs_from_bytes(&fixture(file))
            .unwrap()
            .into_iter()
            .enumerate()
        {
            certs.push((format!("{file}-{i}"), c));
        }
    }
    Keyring::from_parts(certs, Vec::new())
});

static ALLOWED_TEXT: LazyLock<String> =
    LazyLock::new(|| String::from_utf8(fixture("gittuf-allowed_signers")).unwrap());
static ALLOWED: LazyLock<AllowedSigners> =
    LazyLock::new(|| AllowedSigners::parse(&ALLOWED_TEXT).unwrap());

/// A policy whose person holds the libchewing certificate and the gittuf SSH key.
static POLICY: LazyLock<factory_policy::Policy> = LazyLock::new(|| {
    let fpr =
        &Keyring::cert_fingerprints(&fixture("libchewing-openpgp-policy-keyring.asc")).unwrap()[0];
    let ssh = ALLOWED_TEXT
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("* ");
    let text = format!(
        "version = 1\ndefault-tier = \"auto\"\n[[tier]]\nname = \"auto\"\ndescription = \"a\"\n[people.alice]\nname = \"Alice <alice@example.com>\"\nroles = [\"maintainer\"]\nkeys = [\"openpgp:{fpr}\", \"{ssh}\"]\n"
    );
    factory_policy::Policy::parse("policy.toml", &text).unwrap()
});

/// The commit whose SSH signature is good under the gittuf allowed_signers file.
const GOOD_SSH: &str = "gittuf_ssh-rsa-rsl-entry_c175edc7.commit";

/// Every armored signature of the fixtures.
static SIGNATURES: LazyLock<Vec<String>> = LazyLock::new(|| {
    COMMITS
        .iter()
        .filter_map(|(_, raw)| signed_commit(raw))
        .map(|s| s.signature)
        .collect()
});

// ------------------------------------------------------------------------------------------
// Mutations: insert, delete and replace bytes; duplicate, drop and swap lines.

const TOKENS: &[&str] = &[
    "\n",
    " ",
    "\n\n",
    "\n ",
    "\r",
    "gpgsig ",
    "gpgsig-sha256 ",
    "committer C <c> 1 +0000\n",
    "-----BEGIN PGP SIGNATURE-----",
    "-----END PGP SIGNATURE-----",
    "-----BEGIN PGP MESSAGE-----",
    "-----BEGIN SSH SIGNATURE-----",
    "-----END SSH SIGNATURE-----",
    "-----BEGIN SIGNED MESSAGE-----",
    "=",
    "==",
    "A",
    "/",
    "+",
    "é",
    "\0",
    "\u{feff}",
    "Version: x\n",
];

// ------------------------------------------------------------------------------------------
// Commits and signatures.

/// `payload` (a commit object without signature) with `signature` as its `gpgsig` header, the
/// way git writes it: after the last header, continuation lines indented by one space.
fn with_signature(payload: &[u8], signature: &str) -> Vec<u8> {
    let end = payload
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(payload.len(), |p| p + 1);
    let header = format!(
        "gpgsig {}\n",
        signature.lines().collect::<Vec<_>>().join("\n ")
    );
    [&payload[..end], header.as_bytes(), &payload[end..]].concat()
}

/// Bytes armored as an OpenPGP signature.
fn armor(bytes: &[u8]) -> String {
    use std::io::Write as _;
    let mut out = Vec::new();
    let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Signature).unwrap();
    w.write_all(bytes).unwrap();
    w.finalize().unwrap();
    String::from_utf8(out).unwrap()
}

/// A version 4 signature packet of hostile content: subpackets of any type and declared
/// length (issuer and issuer-fingerprint often), and any body after them.
fn signature_packet() -> impl Strategy<Value = Vec<u8>> {
    let subpacket = (
        prop::sample::select(&[2u8, 16, 33, 0x80 | 33, 0x80 | 16, 27, 0][..]),
        prop::collection::vec(any::<u8>(), 0..24),
        prop_oneof![Just(None), any::<u8>().prop_map(Some)],
    )
        .prop_map(|(tag, data, len)| {
            let mut out = vec![len.unwrap_or((data.len() + 1).min(191) as u8), tag];
            out.extend(data);
            out
        });
    let area = prop::collection::vec(subpacket, 0..4).prop_map(|s| {
        let body = s.concat();
        [(body.len() as u16).to_be_bytes().to_vec(), body].concat()
    });
    (
        any::<[u8; 3]>(),
        area.clone(),
        area,
        prop::collection::vec(any::<u8>(), 0..40),
        any::<u8>(),
    )
        .prop_map(|(head, hashed, unhashed, rest, version)| {
            let body = [
                &[if version < 200 { 4 } else { version }][..],
                &head,
                &hashed,
                &unhashed,
                &rest,
            ]
            .concat();
            let len = body.len().min(191);
            // A new-format signature packet (tag 2) with a one-octet length.
            [&[0xC2, len as u8][..], &body[..len]].concat()
        })
}

/// A signature text: arbitrary, a real one, a real one mutated, or a forged OpenPGP packet.
fn signature_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        1 => any::<Index>().prop_map(|i| SIGNATURES[i.index(SIGNATURES.len())].clone()),
        2 => (any::<Index>(), mutations(TOKENS)).prop_map(|(i, m)| {
            String::from_utf8_lossy(&apply(SIGNATURES[i.index(SIGNATURES.len())].as_bytes(), &m)).into_owned()
        }),
        2 => signature_packet().prop_map(|p| armor(&p)),
    ]
}

/// The verdict for a decision made now, as the gate asks for it.
fn judged_now(v: Verdict, raw: &[u8]) -> Verdict {
    let committed = signed_commit(raw)
        .and_then(|s| s.committer_time)
        .unwrap_or(0);
    let signed_at = signature_time(raw);
    if signed_at.is_some() {
        assert!(signed_commit(raw).is_some());
    }
    judge_now(v, signed_at, committed, &RING, 1_767_607_200)
}

/// No signature is good when no key is known.
fn never_good(v: &Verdict) {
    assert!(!v.is_good(), "good without a key: {v:?}");
    let _ = v.name();
}

// ------------------------------------------------------------------------------------------
// Approval statements.

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(&["approve", "reject", "override", "withdraw"][..])
        .prop_filter_map("a kind of this version", |k| {
            serde_json::from_value(serde_json::Value::from(k)).ok()
        })
}

fn statement() -> impl Strategy<Value = Statement> {
    let text = || prop_oneof![3 => "[0-9a-f]{40}", 1 => any::<String>()];
    let time = prop_oneof![
        Just(civil::rfc3339(1_767_607_200)),
        "[0-9TZ:-]{0,25}",
        any::<String>()
    ];
    let sig = prop::option::of(
        (
            prop_oneof![
                Just("openpgp".to_owned()),
                Just("ssh".to_owned()),
                any::<String>()
            ],
            signature_text(),
        )
            .prop_map(|(format, armored)| StatementSig { format, armored }),
    );
    (
        (kind(), text(), text(), text(), any::<String>(), text()),
        (
            time,
            any::<String>(),
            prop::collection::vec(any::<String>(), 0..3),
            any::<String>(),
            any::<String>(),
            sig,
        ),
    )
        .prop_map(
            |(
                (kind, commit, tree, base, role, policy),
                (time, approver, transcripts, comment, reason, sig),
            )| Statement {
                v: 1,
                kind,
                commit,
                tree,
                base,
                change: String::new(),
                role,
                policy,
                time,
                approver,
                transcripts,
                comment,
                reason,
                dimension: String::new(),
                score: None,
                evidence: None,
                sig,
            },
        )
}

/// JSON lines shaped like statements, with values of any type.
fn statement_like_line() -> impl Strategy<Value = String> {
    let keys = &[
        "v",
        "kind",
        "commit",
        "tree",
        "base",
        "role",
        "policy",
        "time",
        "approver",
        "transcripts",
        "comment",
        "reason",
        "sig",
        "format",
        "armored",
        "extra",
    ][..];
    let value = prop_oneof![
        Just(serde_json::json!(1)),
        Just(serde_json::json!(2)),
        Just(serde_json::json!("approve")),
        Just(serde_json::json!("withdraw")),
        Just(serde_json::json!({"format": "ssh", "armored": ""})),
        Just(serde_json::json!([])),
        Just(serde_json::Value::Null),
        any::<String>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
    ];
    prop::collection::btree_map(prop::sample::select(keys), value, 0..14).prop_map(|m| {
        serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            .to_string()
    })
}

fn check_statement_line(line: &str) {
    if let Ok(s) = Statement::from_line(line) {
        assert_eq!(s.v, 1);
        assert_eq!(Statement::from_line(&s.to_line()).as_ref(), Ok(&s));
        assert!(!matches!(
            approval::check_signature(&s, &Keyring::default()),
            SignatureCheck::Good { .. }
        ));
    }
}

fn check_note(note: &str) {
    let lines = note.lines().count();
    let (good, bad) = approval::parse_note_lenient(note);
    assert_eq!(
        good.len() + bad.len(),
        note.lines().filter(|l| !l.trim().is_empty()).count()
    );
    assert!(bad.iter().all(|(n, _)| (1..=lines).contains(n)));
    match approval::parse_note(note) {
        Ok(all) => assert!(bad.is_empty() && all == good),
        Err(e) => {
            let n: usize = e
                .strip_prefix("line ")
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no line in `{e}`"));
            assert_eq!(Some(n), bad.first().map(|(n, _)| *n));
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_are_never_a_good_commit(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
        never_good(&verify_commit(&raw, &Keyring::default(), None));
        let v = verify_commit(&raw, &RING, Some(&ALLOWED));
        prop_assert!(!v.is_good(), "{v:?}");
        let _ = judged_now(v, &raw);
        if let Some(s) = signed_commit(&raw) {
            prop_assert!(s.payload.len() + "gpgsig ".len() <= raw.len());
            prop_assert!(s.signature.ends_with('\n'));
            // Only a `gpgsig ` header is a signature.
            prop_assert!(raw.windows(7).any(|w| w == b"gpgsig "));
        }
    }

    #[test]
    fn the_signature_header_splits_off_exactly(message in any::<String>(), signature in signature_text(), time in any::<i64>()) {
        prop_assume!(!signature.trim().is_empty() && !signature.contains('\r'));
        let payload = format!("tree {z}\nparent {z}\nauthor A <a@x> {time} +0000\ncommitter C <c@x> {time} +0000\n\n{message}", z = "0".repeat(40));
        let raw = with_signature(payload.as_bytes(), &signature);
        let s = signed_commit(&raw).unwrap();
        prop_assert_eq!(&s.payload, payload.as_bytes());
        prop_assert_eq!(s.signature, format!("{}\n", signature.lines().collect::<Vec<_>>().join("\n")));
        prop_assert_eq!(s.committer_time, Some(time));
        never_good(&verify_commit(&raw, &Keyring::default(), None));
        prop_assert!(!verify_commit(&raw, &RING, Some(&ALLOWED)).is_good());
    }

    #[test]
    fn mutated_real_commits_are_never_good_unless_unchanged(which in any::<Index>(), mutations in mutations(TOKENS)) {
        let (name, original) = &COMMITS[which.index(COMMITS.len())];
        let raw = apply(original, &mutations);
        never_good(&verify_commit(&raw, &Keyring::default(), None));
        let v = verify_commit(&raw, &RING, Some(&ALLOWED));
        let _ = judged_now(v.clone(), &raw);
        // A changed payload is never good (the signature may still be reformatted harmlessly).
        let payload = |raw: &[u8]| signed_commit(raw).map(|s| s.payload);
        if payload(&raw) != payload(original) {
            prop_assert!(!v.is_good(), "{name}: {v:?}");
        }
    }

    #[test]
    fn a_changed_ssh_signature_is_never_good(mutations in mutations(TOKENS), namespace in prop_oneof!["git", "[a-z-]{1,12}"], sha512 in any::<bool>()) {
        let original = signed_commit(&fixture(GOOD_SSH)).unwrap();
        let sig = SshSig::from_pem(&original.signature).unwrap();
        let changed = apply(sig.signature_bytes(), &mutations);
        let hash = if sha512 { HashAlg::Sha512 } else { HashAlg::Sha256 };
        let Ok(signature) = ssh_key::Signature::new(sig.signature().algorithm(), changed.clone()) else { return Ok(()) };
        let Ok(forged) = SshSig::new(sig.public_key().clone(), namespace.clone(), hash, signature) else { return Ok(()) };
        let raw = with_signature(&original.payload, &forged.to_pem(LineEnding::LF).unwrap());
        let v = verify_commit(&raw, &Keyring::default(), Some(&ALLOWED));
        let unchanged = changed == sig.signature_bytes() && namespace == "git" && hash == sig.hash_alg();
        prop_assert!(!v.is_good() || unchanged, "{v:?}");
    }

    #[test]
    fn statements_survive_their_note_line(s in statement()) {
        let line = s.to_line();
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(Statement::from_line(&line), Ok(s.clone()));
        prop_assert_eq!(approval::parse_note(&approval::append_to_note("", &s)), Ok(vec![s.clone()]));
        prop_assert_eq!(serde_json::to_value(s.kind).unwrap(), serde_json::Value::from(s.kind.as_str()));
        // The signature covers everything but itself.
        let bytes = s.canonical_bytes();
        prop_assert!(bytes.starts_with(format!("{}\n", DOMAIN).as_bytes()), "no domain line");
        prop_assert_eq!(bytes, Statement { sig: None, ..s.clone() }.canonical_bytes());
        // No statement is good by a key nobody holds, nor by a signature made for a commit.
        let when = Some(CheckTime { now: 1_767_607_200, not_before: 0 });
        prop_assert!(!matches!(approval::check_signature_at(&s, &Keyring::default(), when), SignatureCheck::Good { .. }), "good without a key");
        prop_assert!(!matches!(approval::check_signature(&s, &RING), SignatureCheck::Good { .. }), "good over other bytes");
    }

    #[test]
    fn statement_lines_never_panic(line in prop_oneof![any::<String>(), statement_like_line()]) {
        check_statement_line(&line);
    }

    #[test]
    fn approval_notes_never_panic(lines in prop::collection::vec(prop_oneof![any::<String>(), statement_like_line(), statement().prop_map(|s| s.to_line())], 0..6)) {
        check_note(&lines.join("\n"));
    }

    #[test]
    fn allowed_signers_never_panic(text in prop_oneof![
        any::<String>(),
        mutations(TOKENS).prop_map(|m| String::from_utf8_lossy(&apply(ALLOWED_TEXT.as_bytes(), &m)).into_owned()),
    ], principal in "[a-z@.*?]{0,12}", time in any::<i64>()) {
        match AllowedSigners::parse(&text) {
            Err(e) => prop_assert!((1..=text.lines().count()).contains(&e.line), "{e}"),
            Ok(a) => {
                for e in &a.entries {
                    prop_assert!((1..=text.lines().count()).contains(&e.line));
                    let _ = a.allowing(e.key.key_data(), "git", Some(time), Some(principal.as_str())).count();
                }
                let raw = fixture(GOOD_SSH);
                let _ = verify_commit(&raw, &Keyring::default(), Some(&a));
            }
        }
    }

    #[test]
    fn keyrings_never_panic(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..1024),
        mutations(TOKENS).prop_map(|m| apply(&fixture("libchewing-openpgp-policy-keyring.asc"), &m)),
    ], claim in any::<String>()) {
        if let Ok(ring) = Keyring::from_policy(&POLICY, &[("k.asc".to_owned(), bytes.clone())]) {
            let _ = ring.people_claimed_by(&claim);
            let _ = ring.person_valid_at("alice", 1_767_607_200);
            prop_assert!(verify_commit(&fixture(GOOD_SSH), &ring, None).is_good());
        }
        if let Ok(certs) = Keyring::certs_from_bytes(&bytes) {
            let _ = Keyring::cert_fingerprints(&bytes);
            let ring = Keyring::from_parts(certs.into_iter().map(|c| ("p".to_owned(), c)).collect(), Vec::new());
            for (_, raw) in COMMITS.iter() {
                let _ = verify_commit(raw, &ring, None);
            }
        }
    }

    #[test]
    fn civil_dates_never_panic(text in prop_oneof!["[0-9+-]{0,12}", "[0-9T:Z -]{0,24}", any::<String>()], secs in any::<i64>()) {
        let _ = civil::parse_day(&text);
        let _ = civil::parse_rfc3339(&text);
        let _ = civil::rfc3339(secs);
    }

    #[test]
    fn any_year_is_a_day_or_none(y in any::<i64>(), m in 1i64..=12, d in 1i64..=31) {
        // `--since` / `--until` of `factory report` take such dates from the command line.
        let _ = civil::parse_day(&format!("{y}-{m:02}-{d:02}"));
    }

    #[test]
    fn rfc3339_round_trips_for_four_digit_years(secs in -62_167_219_200i64..253_402_300_800) {
        prop_assert_eq!(civil::parse_rfc3339(&civil::rfc3339(secs)), Some(secs));
    }
}

#[test]
fn the_good_ssh_commit_is_good() {
    // Guards the "never good once changed" properties against a base that is never good.
    assert!(verify_commit(&fixture(GOOD_SSH), &Keyring::default(), Some(&ALLOWED)).is_good());
    let ring = Keyring::from_policy(
        &POLICY,
        &[(
            "k.asc".to_owned(),
            fixture("libchewing-openpgp-policy-keyring.asc"),
        )],
    )
    .unwrap();
    assert!(
        matches!(verify_commit(&fixture(GOOD_SSH), &ring, None), Verdict::Good { person: Some(p), .. } if p == "alice")
    );
}

/// Found by `any_year_is_a_day_or_none`: a large year overflows `days_from_civil` (a panic in debug
/// builds, a wrong day in release).
#[test]
fn a_huge_year_is_no_day() {
    let _ = civil::parse_day("9223372036854775807-01-01");
}
