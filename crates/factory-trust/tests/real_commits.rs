//! The real signed commits in `../shared/fixtures/signed-commits` get the verdicts git gives
//! them with the same keys (and x509 is never good).

use factory_trust::{
    AllowedSigners, Keyring, SignatureKind, Verdict, signed_commit, verify_commit,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/signed-commits")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sequoia_keyring() -> Keyring {
    let certs = Keyring::certs_from_bytes(&fixture("sequoia-openpgp-policy-keyring.asc")).unwrap();
    assert_eq!(certs.len(), 6);
    Keyring::from_parts(
        certs
            .into_iter()
            .enumerate()
            .map(|(i, c)| (format!("p{i}"), c))
            .collect(),
        Vec::new(),
    )
}

// git's verdicts on these objects were taken with `git verify-commit --raw` after
// `git hash-object -t commit -w --literally FILE`, with the fixture keyrings imported into an
// empty GNUPGHOME and gpg.ssh.allowedSignersFile set to gittuf-allowed_signers.

#[test]
fn openpgp_armored_as_a_message_is_parsed_and_its_key_is_not_in_the_policy_keyring() {
    // git: ERRSIG NO_PUBKEY E7E2B84A36457BEA3F43692DE68BE3B312FA33FC — the signer's key is not
    // one of the six certificates of the project's policy.
    let raw = fixture("sequoia_pgp-armored-as-MESSAGE_c4b6c236.commit");
    let v = verify_commit(&raw, &sequoia_keyring(), None);
    assert_eq!(
        v,
        Verdict::UnknownKey {
            kind: SignatureKind::OpenPgp,
            key: "E7E2B84A36457BEA3F43692DE68BE3B312FA33FC".into()
        }
    );
}

#[test]
fn the_2011_multi_header_format_is_parsed_like_git() {
    let raw = fixture("git.git_5f549aa2_early-multi-gpgsig-header-format.commit");
    let s = signed_commit(&raw).unwrap();
    assert!(
        s.signature
            .starts_with("-----BEGIN PGP SIGNATURE-----\nVersion: GnuPG v1.4.10")
    );
    assert!(
        s.signature
            .trim_end()
            .ends_with("-----END PGP SIGNATURE-----")
    );
    assert!(!String::from_utf8_lossy(&s.payload).contains("gpgsig"));
    // git.git's key is not in any keyring here: git says the key is missing.
    let v = verify_commit(&raw, &Keyring::default(), None);
    assert!(
        matches!(
            v,
            Verdict::UnknownKey {
                kind: SignatureKind::OpenPgp,
                ..
            }
        ),
        "{v:?}"
    );
}

#[test]
fn a_gpgsig_header_that_is_no_signature_is_malformed() {
    let v = verify_commit(
        &fixture("git.git_b9882d90_gpgsig-header-not-a-signature.commit"),
        &Keyring::default(),
        None,
    );
    assert!(matches!(v, Verdict::Malformed { .. }), "{v:?}");
}

#[test]
fn ssh_rsa_with_an_allowed_signers_file() {
    let allowed =
        AllowedSigners::parse(&String::from_utf8(fixture("gittuf-allowed_signers")).unwrap())
            .unwrap();
    let raw = fixture("gittuf_ssh-rsa-rsl-entry_c175edc7.commit");
    let v = verify_commit(&raw, &Keyring::default(), Some(&allowed));
    assert!(
        matches!(
            v,
            Verdict::Good {
                kind: SignatureKind::Ssh,
                person: None,
                ..
            }
        ),
        "{v:?}"
    );
    let v = verify_commit(&raw, &Keyring::default(), None);
    assert!(
        matches!(
            v,
            Verdict::UnknownKey {
                kind: SignatureKind::Ssh,
                ..
            }
        ),
        "{v:?}"
    );
}

#[test]
fn ssh_signature_of_an_unknown_key() {
    let v = verify_commit(
        &fixture("libchewing_ssh_77d8fdeb.commit"),
        &Keyring::default(),
        None,
    );
    assert!(
        matches!(
            v,
            Verdict::UnknownKey {
                kind: SignatureKind::Ssh,
                ..
            }
        ),
        "{v:?}"
    );
}

#[test]
fn x509_is_unsupported_never_good() {
    let v = verify_commit(
        &fixture("gittuf_x509-gitsign_0f692584.commit"),
        &sequoia_keyring(),
        None,
    );
    assert_eq!(
        v,
        Verdict::Unsupported {
            kind: SignatureKind::X509
        }
    );
}

#[test]
fn github_web_flow_is_an_unknown_key() {
    let certs =
        Keyring::certs_from_bytes(&fixture("libchewing-openpgp-policy-keyring.asc")).unwrap();
    let ring = Keyring::from_parts(
        certs
            .into_iter()
            .map(|c| ("chewing".to_owned(), c))
            .collect(),
        Vec::new(),
    );
    let v = verify_commit(
        &fixture("libchewing_github-web-flow-pgp_4249e4d0.commit"),
        &ring,
        None,
    );
    assert!(
        matches!(
            v,
            Verdict::UnknownKey {
                kind: SignatureKind::OpenPgp,
                ..
            }
        ),
        "{v:?}"
    );
}
