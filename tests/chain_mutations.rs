//! The mutation suite over real audit logs (issue 12): every field of every
//! record edited, records deleted, copied, swapped, forged (and the chain
//! recomputed), logs truncated and spliced: the chain check with a
//! checkpoint detects 100%, and replay fails on every one it can see.
//! Plus byte-level property tests and the `chain` fuzz body.

mod chain_common;

use chain_common::*;
use gatehouse::Outcome;
use gatehouse::Policy;
use gatehouse::audit::chain::{ChainStatus, LineHash, hash_line, hash_text};
use gatehouse::audit::log::AuditLog;
use gatehouse::audit::redact::Redaction;
use proptest::prelude::*;
use serde_json::{Value, json};

/// The `chain` fuzz target's body, run here on generated inputs too.
#[path = "../fuzz/src/chain.rs"]
mod fuzz_body;

// ------------------------------------------------------ mutation suite --

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

fn leaves(v: &Value, at: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                at.push(Seg::Key(k.clone()));
                leaves(child, at, out);
                at.pop();
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, child) in a.iter().enumerate() {
                at.push(Seg::Index(i));
                leaves(child, at, out);
                at.pop();
            }
        }
        _ => out.push(at.clone()),
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Seg]) -> &'a mut Value {
    path.iter().fold(v, |v, seg| match seg {
        Seg::Key(k) => &mut v[k.as_str()],
        Seg::Index(i) => &mut v[*i],
    })
}

/// Another value of the same kind where there is one (a well-formed hash
/// stays well formed), so the edit is what a forger would write.
fn edit(v: &mut Value) {
    *v = match v.take() {
        Value::String(s) if s.starts_with("sha256:") && s.len() == 71 => {
            let last = if s.ends_with('0') { "1" } else { "0" };
            Value::String(format!("{}{last}", &s[..70]))
        }
        Value::String(s) => Value::String(format!("{s}x")),
        Value::Number(n) => {
            // a digit in front: another value, whatever the spelling
            let text = n.to_string();
            let other = match text.strip_prefix('-') {
                Some(rest) => format!("-1{rest}"),
                None => format!("1{text}"),
            };
            serde_json::from_str(&other).unwrap()
        }
        Value::Bool(b) => Value::Bool(!b),
        Value::Null => json!("x"),
        Value::Array(_) => json!([1]),
        Value::Object(_) => json!({"x": 1}),
    };
}

#[derive(Default)]
struct Tally {
    tried: usize,
    detected: usize,
    missed: Vec<String>,
    replay_visible: usize,
    replay_failed: usize,
    replay_missed: Vec<String>,
}

impl Tally {
    fn check(&mut self, p: &Policy, what: String, bytes: &[u8], cp: (u64, LineHash)) {
        self.tried += 1;
        let with_cp = chain_of(bytes, Some(cp));
        if with_cp.status == ChainStatus::Tampered {
            self.detected += 1;
        } else {
            self.missed.push(format!("{what}: {:?}", with_cp.status));
        }
        // replay has no checkpoint: it sees what the chain alone shows
        if chain_of(bytes, None).status == ChainStatus::Tampered {
            self.replay_visible += 1;
            if replay_fails(p, bytes) {
                self.replay_failed += 1;
            } else {
                self.replay_missed.push(what);
            }
        }
    }
}

#[test]
fn the_mutation_suite_detects_every_mutation_of_a_real_log() {
    let dir = scratch("mutations");
    let (a, b) = (dir.join("a.jsonl"), dir.join("b.jsonl"));
    real_log(&a);
    real_log(&b);
    let original = std::fs::read(&a).unwrap();
    let other = std::fs::read(&b).unwrap();
    let cp = checkpoint_of(&original);
    let p = policy();
    assert!(!replay_fails(&p, &original), "the real log replays clean");
    let lines = lines_of(&original);
    let n = lines.len();
    assert_eq!(n, 9);
    let mut t = Tally::default();

    // every value of every field of every record, seq and prev included
    let mut fields = 0;
    for (i, line) in lines.iter().enumerate() {
        let value: Value = serde_json::from_slice(line).unwrap();
        assert_eq!(
            serde_json::to_vec(&value).unwrap(),
            *line,
            "lines round-trip"
        );
        let mut paths = Vec::new();
        leaves(&value, &mut Vec::new(), &mut paths);
        for path in paths {
            let mut v = value.clone();
            edit(at_mut(&mut v, &path));
            let mut mutated = lines.clone();
            mutated[i] = serde_json::to_vec(&v).unwrap();
            assert_ne!(mutated[i], *line);
            fields += 1;
            t.check(
                &p,
                format!("line {} edit {path:?}", i + 1),
                &join(&mutated),
                cp,
            );
        }
    }
    assert!(fields > 300, "{fields} field edits");
    for i in 0..n {
        let mut m = lines.clone();
        m.remove(i);
        t.check(&p, format!("delete line {}", i + 1), &join(&m), cp);
        for j in 0..=n {
            let mut m = lines.clone();
            m.insert(j, lines[i].clone());
            t.check(
                &p,
                format!("copy line {} before {}", i + 1, j + 1),
                &join(&m),
                cp,
            );
        }
        if i + 1 < n {
            let mut m = lines.clone();
            m.swap(i, i + 1);
            t.check(
                &p,
                format!("swap lines {} and {}", i + 1, i + 2),
                &join(&m),
                cp,
            );
        }
        // a forged record, chained to the record before it
        let mut forged: Value = serde_json::from_slice(&lines[i]).unwrap();
        forged["id"] = json!("dec_ffffffffffffffffffffffffffffffff");
        let mut m = lines.clone();
        m.insert(i + 1, serde_json::to_vec(&forged).unwrap());
        t.check(
            &p,
            format!("forged copy after line {}", i + 1),
            &join(&m),
            cp,
        );
        // ... and the chain recomputed after it: only the checkpoint sees
        // it (after the last record this is an append, which no chain can
        // tell from a genuine one: docs/audit.md)
        if i + 1 == n {
            continue;
        }
        let mut prev = hash_line(&lines[i]);
        forged["seq"] = json!(i + 2);
        forged["prev"] = json!(hash_text(&prev));
        let mut m: Vec<Vec<u8>> = lines[..=i].to_vec();
        for rest in std::iter::once(serde_json::to_vec(&forged).unwrap())
            .chain(lines[i + 1..].iter().cloned())
        {
            let mut v: Value = serde_json::from_slice(&rest).unwrap();
            v["seq"] = json!(m.len() + 1);
            v["prev"] = json!(hash_text(&prev));
            let bytes = serde_json::to_vec(&v).unwrap();
            prev = hash_line(&bytes);
            m.push(bytes);
        }
        t.check(
            &p,
            format!("forged after line {} and rechained", i + 1),
            &join(&m),
            cp,
        );
    }
    for i in 0..n {
        // truncated in the middle of line i, and at the boundary before it
        let start: usize = lines[..i].iter().map(|l| l.len() + 1).sum();
        let cut = &original[..start + lines[i].len() / 2];
        t.check(&p, format!("truncated inside line {}", i + 1), cut, cp);
        t.check(
            &p,
            format!("truncated before line {}", i + 1),
            &original[..start],
            cp,
        );
    }
    // two logs spliced together, either way and in the middle
    let (ol, bl) = (lines_of(&other), lines_of(&original));
    t.check(
        &p,
        "a then b".into(),
        &[original.clone(), other.clone()].concat(),
        cp,
    );
    t.check(
        &p,
        "b then a".into(),
        &[other.clone(), original.clone()].concat(),
        cp,
    );
    for k in 1..n {
        let m: Vec<Vec<u8>> = bl[..k].iter().chain(&ol[k..]).cloned().collect();
        t.check(&p, format!("a's first {k} then b"), &join(&m), cp);
    }
    eprintln!(
        "mutation suite: {} mutations tried ({fields} field edits), {} detected by the chain check with a checkpoint; {} visible without one, of which replay failed on {}",
        t.tried, t.detected, t.replay_visible, t.replay_failed
    );
    assert!(t.missed.is_empty(), "undetected: {:#?}", t.missed);
    assert_eq!(t.detected, t.tried);
    assert!(
        t.replay_missed.is_empty(),
        "replay exit 0: {:#?}",
        t.replay_missed
    );
    // nearly everything is visible without a checkpoint: not the tail
    assert!(
        t.replay_visible * 10 > t.tried * 8,
        "{} of {}",
        t.replay_visible,
        t.tried
    );
}

/// The last record is covered by no link: replay still sees an edit of
/// what it recomputes, the chain only with a checkpoint.
#[test]
fn edits_of_the_last_record_replay_sees_and_a_checkpoint_proves() {
    let dir = scratch("last");
    let path = dir.join("a.jsonl");
    let p = policy();
    let mut log = AuditLog::open(&path).unwrap();
    for input in actions() {
        log.append(&decision(&p, &input, &Redaction::KeepAll))
            .unwrap();
    }
    let original = std::fs::read(&path).unwrap();
    let cp = checkpoint_of(&original);
    let mut lines = lines_of(&original);
    let last = lines.len() - 1;
    let mut v: Value = serde_json::from_slice(&lines[last]).unwrap();
    assert_eq!(v["outcome"], "dual", "{v}");
    v["outcome"] = json!(Outcome::Auto);
    lines[last] = serde_json::to_vec(&v).unwrap();
    let edited = join(&lines);
    assert_eq!(chain_of(&edited, None).status, ChainStatus::Intact);
    assert_eq!(chain_of(&edited, Some(cp)).status, ChainStatus::Tampered);
    assert!(replay_fails(&p, &edited), "promise 11: outcome is checked");
    std::fs::write(&path, &edited).unwrap();
    let (code, out, _) = run(&["replay", path.to_str().unwrap(), "-p", V1]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("CORRUPT RECORD: outcome"), "{out}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any byte edit inside the checkpointed part of a log (overwrite,
    /// insert or delete a byte) is tampering; appending after it is not.
    #[test]
    fn byte_edits_below_a_checkpoint_are_tampering(
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        op in 0u8..3,
    ) {
        static LOG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let original = LOG.get_or_init(|| {
            let dir = scratch("proptest");
            real_log(&dir.join("a.jsonl"));
            std::fs::read(dir.join("a.jsonl")).unwrap()
        });
        let cp = checkpoint_of(original);
        // the checkpoint covers every byte but the last newline
        let covered = original.len() - 1;
        let i = at.index(covered);
        let mut m = original.clone();
        match op {
            0 => {
                prop_assume!(m[i] != byte);
                m[i] = byte;
            }
            1 => m.insert(i, byte),
            _ => { m.remove(i); }
        }
        let report = chain_of(&m, Some(cp));
        prop_assert_eq!(report.status, ChainStatus::Tampered, "{:?} at {}: {:#?}", op, i, report);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The fuzz body's invariants on generated edits of a valid log (odd
    /// first byte) and on arbitrary logs (even first byte).
    #[test]
    fn the_fuzz_body_holds_on_generated_edits(
        ops in proptest::collection::vec(any::<u8>(), 0..64),
        raw in proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'{'), Just(b'"'), any::<u8>()], 0..200),
    ) {
        fuzz_body::chain(&[&[1u8][..], &ops].concat());
        fuzz_body::chain(&[&[0u8][..], &raw].concat());
    }
}
