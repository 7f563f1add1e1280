//! Every way of making an approval count that it should not, tried and refused.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use factory_policy::{Origin, Policy, TierId};
use factory_trust::approval::{APPROVAL_NAMESPACE, Kind, Statement, StatementSig};
use factory_trust::{
    Evaluation, Keyring, RangeCommit, RangeFacts, SignatureKind, Verdict, evaluate,
};
use openpgp::cert::CertBuilder;
use openpgp::serialize::Serialize as _;
use sequoia_openpgp as openpgp;
use ssh_key::private::Ed25519Keypair;
use ssh_key::{HashAlg, LineEnding, PrivateKey};

const TIP: &str = "1111111111111111111111111111111111111111";
const TREE: &str = "2222222222222222222222222222222222222222";
const BASE: &str = "3333333333333333333333333333333333333333";
const POLICY_BLOB: &str = "4444444444444444444444444444444444444444";
const CHANGE: &str = "sha256:5555555555555555555555555555555555555555555555555555555555555555";

fn ssh(seed: u8) -> PrivateKey {
    PrivateKey::from(Ed25519Keypair::from_seed(&[seed; 32]))
}

fn public(key: &PrivateKey) -> String {
    key.public_key().to_openssh().unwrap()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// 2026-01-01.
const T0: u64 = 1_767_225_600;

/// An OpenPGP certificate made at T0, valid for `days` (0: forever), and its armored public part.
fn openpgp_cert(days: u64) -> (openpgp::Cert, String) {
    let mut b = CertBuilder::new()
        .add_userid("erin@example.com")
        .set_creation_time(at(T0))
        .add_signing_subkey();
    if days > 0 {
        b = b.set_validity_period(Duration::from_secs(days * 86_400));
    }
    let (cert, _) = b.generate().unwrap();
    let mut armored = Vec::new();
    cert.armored().serialize(&mut armored).unwrap();
    (cert, String::from_utf8(armored).unwrap())
}

fn sign_openpgp(cert: &openpgp::Cert, when: SystemTime, bytes: &[u8]) -> String {
    let policy = openpgp::policy::StandardPolicy::new();
    let key = cert
        .keys()
        .with_policy(&policy, at(T0 + 60))
        .secret()
        .for_signing()
        .next()
        .unwrap();
    let mut pair = key.key().clone().into_keypair().unwrap();
    let sig =
        openpgp::packet::signature::SignatureBuilder::new(openpgp::types::SignatureType::Binary)
            .set_signature_creation_time(when)
            .unwrap()
            .sign_message(&mut pair, bytes)
            .unwrap();
    let mut out = Vec::new();
    {
        let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Signature).unwrap();
        openpgp::Packet::from(sig).serialize(&mut w).unwrap();
        w.finalize().unwrap();
    }
    String::from_utf8(out).unwrap()
}

struct World {
    policy: Policy,
    keyring: Keyring,
    erin: openpgp::Cert,
}

/// bob: maintainer; carol: domain-expert; dave: validation-architect and domain-expert;
/// erin: maintainer with an OpenPGP key (optionally revoked or short-lived).
fn world(erin_days: u64, revoke_erin: bool) -> World {
    let (mut erin, _) = openpgp_cert(erin_days);
    if revoke_erin {
        let mut signer = erin
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap();
        let rev = erin
            .revoke(
                &mut signer,
                openpgp::types::ReasonForRevocation::KeyCompromised,
                b"stolen",
            )
            .unwrap();
        erin = erin.insert_packets(rev).unwrap().0;
    }
    let mut armored = Vec::new();
    erin.armored().serialize(&mut armored).unwrap();
    let text = format!(
        r#"version = 1
default-tier = "review"
[[tier]]
name = "auto"
description = ""
[[tier]]
name = "review"
description = ""
requires = [{{ role = "maintainer" }}]
[[tier]]
name = "hard-stop"
description = ""
requires = [{{ role = "validation-architect" }}, {{ role = "domain-expert" }}]
distinct-people = true
forbid-agent = false
[people.bob]
roles = ["maintainer"]
keys = ["{}"]
[people.carol]
roles = ["domain-expert", "override"]
keys = ["{}"]
[people.dave]
roles = ["validation-architect", "domain-expert"]
keys = ["{}"]
[people.erin]
roles = ["maintainer"]
keys = ["openpgp:{}"]
"#,
        public(&ssh(1)),
        public(&ssh(2)),
        public(&ssh(3)),
        erin.fingerprint().to_hex()
    );
    let policy = Policy::parse("policy.toml", &text).unwrap();
    let keyring =
        Keyring::from_policy(&policy, &[("erin.asc".into(), armored)]).unwrap_or_else(|p| {
            panic!(
                "{:?}",
                p.iter()
                    .map(|k| k.problem.message.clone())
                    .collect::<Vec<_>>()
            )
        });
    World {
        policy,
        keyring,
        erin,
    }
}

fn statement(approver: &str, role: &str, kind: Kind) -> Statement {
    Statement {
        v: 1,
        kind,
        commit: TIP.into(),
        tree: TREE.into(),
        base: BASE.into(),
        change: String::new(),
        role: role.into(),
        policy: POLICY_BLOB.into(),
        time: "2026-01-05T10:00:00Z".into(),
        approver: approver.into(),
        transcripts: Vec::new(),
        comment: String::new(),
        reason: String::new(),
        dimension: String::new(),
        score: None,
        evidence: None,
        sig: None,
    }
}

fn ssh_signed(mut s: Statement, key: &PrivateKey) -> Statement {
    let sig = key
        .sign(APPROVAL_NAMESPACE, HashAlg::Sha512, &s.canonical_bytes())
        .unwrap();
    s.sig = Some(StatementSig {
        format: "ssh".into(),
        armored: sig.to_pem(LineEnding::LF).unwrap(),
    });
    s
}

fn commit(
    tier: usize,
    origin: Origin,
    signature: Verdict,
    requested_by: Option<&str>,
) -> RangeCommit {
    RangeCommit {
        id: TIP.into(),
        tier: TierId(tier),
        origin,
        signature,
        claims: requested_by.map(str::to_owned).into_iter().collect(),
    }
}

fn agent(tier: usize) -> RangeCommit {
    commit(tier, Origin::Agent, Verdict::Unsigned, Some("frank"))
}

fn run(w: &World, commits: Vec<RangeCommit>, statements: Vec<Statement>) -> Evaluation {
    evaluate(&RangeFacts {
        base: BASE.into(),
        tip: TIP.into(),
        tip_tree: TREE.into(),
        change: CHANGE.into(),
        policy: &w.policy,
        policy_blob: POLICY_BLOB.into(),
        keyring: &w.keyring,
        commits,
        statements,
        at: None,
        transcripts: Vec::new(),
    })
}

#[track_caller]
fn refused(e: &Evaluation, why: &str) {
    assert!(!e.pass, "{e:?}");
    let s = &e.statements[0];
    assert!(
        !s.counts && s.reason.contains(why),
        "expected a refusal containing {why:?}, got {s:?}"
    );
}

#[test]
fn a_valid_approval_meets_the_review_requirement() {
    let w = world(0, false);
    let e = run(
        &w,
        vec![agent(1)],
        vec![ssh_signed(
            statement("bob", "maintainer", Kind::Approve),
            &ssh(1),
        )],
    );
    assert!(e.pass, "{e:?}");
    assert_eq!(
        e.met,
        vec![(
            TIP.to_owned(),
            "maintainer".to_owned(),
            vec!["bob".to_owned()]
        )]
    );
    // Without it, the gap is named with who could fill it.
    let e = run(&w, vec![agent(1)], vec![]);
    assert!(!e.pass);
    assert_eq!(e.unmet[0].could, ["bob", "erin"]);
}

#[test]
fn an_approval_of_a_change_counts_wherever_that_change_lands() {
    let w = world(0, false);
    // Made on another commit, tree and base (before a rebase, a squash or a --no-ff merge),
    // for the same change: it counts.
    let mut moved = statement("bob", "maintainer", Kind::Approve);
    moved.commit = "6666666666666666666666666666666666666666".into();
    moved.tree = "7777777777777777777777777777777777777777".into();
    moved.base = "8888888888888888888888888888888888888888".into();
    moved.change = CHANGE.into();
    let e = run(&w, vec![agent(1)], vec![ssh_signed(moved.clone(), &ssh(1))]);
    assert!(e.pass, "{e:?}");
    // The same statement for other content counts for nothing, even on this very commit.
    let mut other = statement("bob", "maintainer", Kind::Approve);
    other.change = "sha256:9999999999999999999999999999999999999999999999999999999999999999".into();
    let e = run(&w, vec![agent(1)], vec![ssh_signed(other, &ssh(1))]);
    refused(&e, "the content differs");
    // Editing the change of a signed statement breaks its signature.
    let mut forged = ssh_signed(moved, &ssh(1));
    forged.change =
        "sha256:9999999999999999999999999999999999999999999999999999999999999999".into();
    let e = run(&w, vec![agent(1)], vec![forged]);
    refused(&e, "does not verify");
}

#[test]
fn a_forged_signature() {
    let w = world(0, false);
    let mut s = ssh_signed(statement("bob", "maintainer", Kind::Approve), &ssh(1));
    let other = ssh_signed(statement("bob", "maintainer", Kind::Reject), &ssh(1));
    s.sig = other.sig;
    refused(&run(&w, vec![agent(1)], vec![s]), "does not verify");
}

#[test]
fn an_unknown_key() {
    let w = world(0, false);
    refused(
        &run(
            &w,
            vec![agent(1)],
            vec![ssh_signed(
                statement("bob", "maintainer", Kind::Approve),
                &ssh(9),
            )],
        ),
        "no person's key",
    );
}

#[test]
fn a_statement_copied_onto_another_commit() {
    let w = world(0, false);
    let mut s = statement("bob", "maintainer", Kind::Approve);
    s.commit = "5555555555555555555555555555555555555555".into();
    refused(
        &run(&w, vec![agent(1)], vec![ssh_signed(s, &ssh(1))]),
        "replay",
    );
}

#[test]
fn a_base_that_does_not_match_the_range() {
    let w = world(0, false);
    let mut s = statement("bob", "maintainer", Kind::Approve);
    s.base = "6666666666666666666666666666666666666666".into();
    refused(
        &run(&w, vec![agent(1)], vec![ssh_signed(s, &ssh(1))]),
        "does not match the range's base",
    );
}

#[test]
fn a_role_the_signer_does_not_hold() {
    let w = world(0, false);
    refused(
        &run(
            &w,
            vec![agent(1)],
            vec![ssh_signed(
                statement("carol", "maintainer", Kind::Approve),
                &ssh(2),
            )],
        ),
        "does not hold the role",
    );
}

#[test]
fn self_approval_by_the_author_or_the_requester() {
    let w = world(0, false);
    let by_bob = Verdict::Good {
        kind: SignatureKind::Ssh,
        person: Some("bob".into()),
        principal: None,
        key: "k".into(),
        roles: vec!["maintainer".into()],
        agent: None,
    };
    // bob signed an (agent) commit of the range: his statement cannot approve it.
    let e = run(
        &w,
        vec![commit(1, Origin::Agent, by_bob, None)],
        vec![ssh_signed(
            statement("bob", "maintainer", Kind::Approve),
            &ssh(1),
        )],
    );
    refused(&e, "cannot approve them");
    // carol asked for the agent's work: she cannot approve it.
    let e = run(
        &w,
        vec![commit(2, Origin::Agent, Verdict::Unsigned, Some("carol"))],
        vec![ssh_signed(
            statement("carol", "domain-expert", Kind::Approve),
            &ssh(2),
        )],
    );
    refused(&e, "cannot approve them");
}

#[test]
fn one_person_counts_once() {
    let w = world(0, false);
    // dave holds both hard-stop roles, but the tier wants two different people.
    let e = run(
        &w,
        vec![agent(2)],
        vec![
            ssh_signed(
                statement("dave", "validation-architect", Kind::Approve),
                &ssh(3),
            ),
            ssh_signed(statement("dave", "domain-expert", Kind::Approve), &ssh(3)),
        ],
    );
    assert!(!e.pass, "{e:?}");
    assert_eq!(e.unmet.len(), 1, "{e:?}");
    // dave has used his one slot: only carol is offered for the other.
    assert_eq!(e.unmet[0].could, ["carol"], "{e:?}");
    // With carol as the domain expert it passes.
    let e = run(
        &w,
        vec![agent(2)],
        vec![
            ssh_signed(
                statement("dave", "validation-architect", Kind::Approve),
                &ssh(3),
            ),
            ssh_signed(statement("carol", "domain-expert", Kind::Approve), &ssh(2)),
        ],
    );
    assert!(e.pass, "{e:?}");
    // The same statement twice is counted once.
    let s = ssh_signed(statement("bob", "maintainer", Kind::Approve), &ssh(1));
    let e = run(&w, vec![agent(1)], vec![s.clone(), s]);
    assert!(e.statements[1].reason.contains("already counted"), "{e:?}");
}

#[test]
fn a_revoked_key() {
    let w = world(0, true);
    let mut s = statement("erin", "maintainer", Kind::Approve);
    s.sig = Some(StatementSig {
        format: "openpgp".into(),
        armored: sign_openpgp(&w.erin, at(T0 + 3600), &s.canonical_bytes()),
    });
    refused(&run(&w, vec![agent(1)], vec![s]), "revoked");
}

#[test]
fn a_key_expired_at_signing_time() {
    let w = world(1, false);
    let mut s = statement("erin", "maintainer", Kind::Approve);
    // Signed two days after the one-day certificate expired.
    s.sig = Some(StatementSig {
        format: "openpgp".into(),
        armored: sign_openpgp(&w.erin, at(T0 + 2 * 86_400), &s.canonical_bytes()),
    });
    refused(&run(&w, vec![agent(1)], vec![s.clone()]), "not valid");
    // Signed while it was valid, it counts, though the key has expired since.
    s.sig = Some(StatementSig {
        format: "openpgp".into(),
        armored: sign_openpgp(&w.erin, at(T0 + 3600), &s.canonical_bytes()),
    });
    assert!(run(&w, vec![agent(1)], vec![s]).pass);
}

#[test]
fn a_key_or_role_added_by_the_range_itself() {
    // The range's own policy would name frank as a maintainer; the base's does not, and the
    // base's is the one that counts.
    let w = world(0, false);
    let e = run(
        &w,
        vec![agent(1)],
        vec![ssh_signed(
            statement("frank", "maintainer", Kind::Approve),
            &ssh(7),
        )],
    );
    refused(&e, "no person's key");
    // carol's maintainer role added by the range: the base policy does not give it.
    refused(
        &run(
            &w,
            vec![agent(1)],
            vec![ssh_signed(
                statement("carol", "maintainer", Kind::Approve),
                &ssh(2),
            )],
        ),
        "does not hold the role",
    );
}

#[test]
fn a_statement_edited_after_signing() {
    let w = world(0, false);
    let mut s = ssh_signed(statement("bob", "maintainer", Kind::Approve), &ssh(1));
    s.comment = "edited".into();
    refused(&run(&w, vec![agent(1)], vec![s]), "does not verify");
}

#[test]
fn an_override_needs_the_override_role_a_reason_and_is_recorded() {
    let w = world(0, false);
    let overriding = |approver: &str, role: &str, reason: &str, key: u8| {
        let mut s = statement(approver, role, Kind::Override);
        s.reason = reason.into();
        ssh_signed(s, &ssh(key))
    };
    // A hard-stop agent change with no approvals at all lands on carol's override.
    let e = run(
        &w,
        vec![agent(2)],
        vec![overriding("carol", "override", "prod outage #123", 2)],
    );
    assert!(e.pass, "{e:?}");
    assert_eq!(e.unmet.len(), 2, "the waived requirements stay listed");
    assert_eq!(e.overrides[0].person, "carol");
    assert_eq!(e.overrides[0].reason, "prod outage #123");
    // Not without a reason, not by someone without the role, not in another role.
    refused(
        &run(
            &w,
            vec![agent(2)],
            vec![overriding("carol", "override", " ", 2)],
        ),
        "without a reason",
    );
    refused(
        &run(
            &w,
            vec![agent(2)],
            vec![overriding("bob", "override", "outage", 1)],
        ),
        "does not hold the role `override`",
    );
    refused(
        &run(
            &w,
            vec![agent(2)],
            vec![overriding("carol", "domain-expert", "outage", 2)],
        ),
        "override role `override`",
    );
    // Not by the person who requested the change.
    let requested = commit(2, Origin::Agent, Verdict::Unsigned, Some("carol"));
    refused(
        &run(
            &w,
            vec![requested],
            vec![overriding("carol", "override", "outage", 2)],
        ),
        "cannot approve them",
    );
}

#[test]
fn an_outstanding_reject_blocks() {
    let w = world(0, false);
    let e = run(
        &w,
        vec![agent(1)],
        vec![
            ssh_signed(statement("carol", "domain-expert", Kind::Reject), &ssh(2)),
            ssh_signed(statement("bob", "maintainer", Kind::Approve), &ssh(1)),
        ],
    );
    assert!(e.unmet.is_empty(), "{e:?}");
    assert_eq!(e.rejects, ["carol"]);
    assert!(!e.pass);
}

#[test]
fn a_human_signed_commit_approves_its_own_diff_and_agents_can_be_forbidden() {
    let mut w = world(0, false);
    let by_erin = Verdict::Good {
        kind: SignatureKind::OpenPgp,
        person: Some("erin".into()),
        principal: None,
        key: "k".into(),
        roles: vec!["maintainer".into()],
        agent: None,
    };
    assert!(run(&w, vec![commit(1, Origin::Human, by_erin, None)], vec![]).pass);
    w.policy.tiers[1].forbid_agent = true;
    let e = run(
        &w,
        vec![agent(1)],
        vec![ssh_signed(
            statement("bob", "maintainer", Kind::Approve),
            &ssh(1),
        )],
    );
    assert!(
        e.unmet
            .iter()
            .any(|u| u.what.contains("agents may not produce")),
        "{e:?}"
    );
}

/// A commit object signed by `cert` at `when`.
fn signed_commit_at(cert: &openpgp::Cert, when: SystemTime) -> Vec<u8> {
    let payload = "tree 2222222222222222222222222222222222222222\nauthor E <e@example.com> 1767225600 +0000\ncommitter E <e@example.com> 1767225600 +0000\n\nchange\n";
    let sig = sign_openpgp(cert, when, payload.as_bytes());
    let header: String = sig
        .trim_end()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("gpgsig {l}\n")
            } else {
                format!(" {l}\n")
            }
        })
        .collect();
    let (head, body) = payload.split_once("\n\n").unwrap();
    format!("{head}\n{header}\n{body}").into_bytes()
}

#[test]
fn commit_signatures_are_judged_at_signing_time() {
    let (cert, _) = openpgp_cert(1);
    let ring = Keyring::from_parts(vec![("erin".into(), cert.clone())], Vec::new());
    let v = factory_trust::verify_commit(&signed_commit_at(&cert, at(T0 + 3600)), &ring, None);
    assert!(v.is_good(), "signed while valid, expired since: {v:?}");
    let v =
        factory_trust::verify_commit(&signed_commit_at(&cert, at(T0 + 3 * 86_400)), &ring, None);
    assert_eq!(v.name(), "expired", "{v:?}");

    // A soft revocation (retired) made later leaves earlier signatures good; a hard one does not.
    let (cert, _) = openpgp_cert(0);
    let raw = signed_commit_at(&cert, at(T0 + 3600));
    let revoke = |reason| {
        let mut signer = cert
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap();
        let rev = openpgp::cert::CertRevocationBuilder::new()
            .set_signature_creation_time(at(T0 + 86_400))
            .unwrap()
            .set_reason_for_revocation(reason, b"")
            .unwrap()
            .build(&mut signer, &cert, None)
            .unwrap();
        cert.clone().insert_packets(rev).unwrap().0
    };
    let retired = revoke(openpgp::types::ReasonForRevocation::KeyRetired);
    let v = factory_trust::verify_commit(
        &raw,
        &Keyring::from_parts(vec![("erin".into(), retired)], Vec::new()),
        None,
    );
    assert!(v.is_good(), "{v:?}");
    let compromised = revoke(openpgp::types::ReasonForRevocation::KeyCompromised);
    let v = factory_trust::verify_commit(
        &raw,
        &Keyring::from_parts(vec![("erin".into(), compromised)], Vec::new()),
        None,
    );
    assert_eq!(v.name(), "revoked", "{v:?}");
}
