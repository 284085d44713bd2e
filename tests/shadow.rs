//! Shadow policies never change an enforced outcome (issue 18): for random
//! policy sets from the differential generator (tests/reference), and for
//! candidates that block everything or approve everything,
//!
//! - `gatehouse eval` (JSON, `--compact`, `--explain`, `--jsonl`) prints
//!   the enforced output byte for byte as without `--shadow`, with the
//!   shadow after it, and exits with the same code;
//! - the gate's `POST /v1/requests` answers (and so its idempotency
//!   answer), state, roles and deadline are the same with and without a
//!   shadow set, while the row keeps the shadow's decision.
//!
//! Plus the CLI's shadow output pinned in snapshots, and its refusals.

// Only the generator of the differential test's reference is used here.
#[allow(dead_code)]
mod reference;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser as _;
use gatehouse_cli::cli::{Cli, Io};
use gatehouse_server::auth::{AuthMethod, Principal, Scope};
use gatehouse_server::gate::{Gate, LoadedPolicy};
use gatehouse_server::store::SqliteStore;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use reference::generate;
use serde_json::{Value as Json, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A candidate that blocks every action.
const BLOCK_ALL: &str = "policy \"block-everything\" version \"1.0.0\"\n\nreason BLOCKED \"the candidate blocks every action\"\n\ntier 0 \"blocked\" { outcome block }\n\ndefault tier 0 because BLOCKED\n";
/// A candidate that approves every action.
const AUTO_ALL: &str = "policy \"auto-everything\" version \"1.0.0\"\n\nreason AUTO \"the candidate approves every action\"\n\ntier 0 \"auto\" { outcome auto }\n\ndefault tier 0 because AUTO\n";

/// Writes a policy set's files into a new directory under `root`.
fn write_set(root: &Path, name: &str, sources: &[(String, String)]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    // The loader reads the files directly in the directory: a generated
    // name's directory part (`policies/set/`) is dropped.
    for (file, text) in sources {
        let base = Path::new(file).file_name().expect("a file name");
        std::fs::write(dir.join(base), text).expect("write");
    }
    dir
}

/// Runs `gatehouse ARGS` in-process with `stdin`: (code, stdout, stderr).
fn cli(args: &[&str], stdin: &str) -> (u8, String, String) {
    let mut argv = vec!["gatehouse"];
    argv.extend_from_slice(args);
    let parsed = Cli::try_parse_from(argv).expect("arguments parse");
    let mut input = std::io::BufReader::new(stdin.as_bytes());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = gatehouse_cli::cli::run(
        parsed,
        &mut Io {
            stdin: &mut input,
            stdout: &mut out,
            stderr: &mut err,
            color: false,
        },
    );
    (
        code,
        String::from_utf8(out).expect("utf-8"),
        String::from_utf8(err).expect("utf-8"),
    )
}

/// `with` is `without`'s JSON document with one member, `shadow`, spliced
/// before its closing brace; gives that member.
fn spliced_member(without: &str, with: &str) -> Result<Json, String> {
    let head = without
        .trim_end()
        .strip_suffix('}')
        .ok_or("the enforced output is not an object")?
        .trim_end();
    if !with.starts_with(head) {
        return Err(format!(
            "the enforced bytes changed:\nwithout: {without}\nwith: {with}"
        ));
    }
    let doc: Json = serde_json::from_str(with).map_err(|e| e.to_string())?;
    let mut doc = doc;
    let member = doc
        .as_object_mut()
        .and_then(|o| o.shift_remove("shadow"))
        .ok_or("no shadow member")?;
    let enforced: Json = serde_json::from_str(without).map_err(|e| e.to_string())?;
    if doc != enforced {
        return Err("the document minus `shadow` is not the enforced one".into());
    }
    Ok(member)
}

/// The enforced answer of the gate, without what the clock and the id
/// make differ between two requests.
fn enforced_part(body: &str) -> Json {
    let mut v: Json = serde_json::from_str(body).expect("JSON");
    if let Some(o) = v.as_object_mut() {
        for k in [
            "id",
            "created_at",
            "created_unix",
            "updated_at",
            "deadline",
            "deadline_unix",
        ] {
            o.shift_remove(k);
        }
    }
    if let Some(t) = v
        .pointer_mut("/decision/timeout")
        .and_then(Json::as_object_mut)
    {
        t.shift_remove("expires_at");
    }
    // A sample opens when its request is created: a time, like created_at.
    if let Some(r) = v
        .pointer_mut("/sample_review")
        .and_then(Json::as_object_mut)
    {
        r.shift_remove("opened_at");
    }
    v
}

async fn gate_on(dir: &Path, policy: &Path, shadow: Option<&Path>) -> Gate {
    let store = SqliteStore::open(&dir.join("gate.db"), false)
        .await
        .expect("a store");
    let config = gatehouse_server::ServerConfig {
        policy: policy.to_owned(),
        data_dir: dir.to_owned(),
        ..gatehouse_server::ServerConfig::default()
    };
    let loaded = LoadedPolicy::load(policy).expect("the enforced set loads");
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let gate = Gate::new(Arc::new(store), config, loaded, None, key);
    gate.set_shadow(shadow.map(|s| LoadedPolicy::load(s).expect("the shadow set loads")));
    gate
}

fn agent() -> Principal {
    Principal {
        id: "agent-1".into(),
        roles: Vec::new(),
        scopes: vec![Scope::Request],
        method: AuthMethod::ApiKey,
        key_id: None,
    }
}

/// Which candidate a case shadows with.
#[derive(Clone, Debug)]
enum Candidate {
    Generated(Box<generate::PolicySeed>),
    BlockAll,
    AutoAll,
}

fn candidate() -> impl Strategy<Value = Candidate> {
    prop_oneof![
        2 => generate::policy_seed().prop_map(|s| Candidate::Generated(Box::new(s))),
        1 => Just(Candidate::BlockAll),
        1 => Just(Candidate::AutoAll),
    ]
}

fn candidate_sources(c: &Candidate) -> Vec<(String, String)> {
    match c {
        Candidate::Generated(seed) => generate::build(seed).sources,
        Candidate::BlockAll => vec![("main.gate".into(), BLOCK_ALL.into())],
        Candidate::AutoAll => vec![("main.gate".into(), AUTO_ALL.into())],
    }
}

fn config() -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 24;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(0x5ad0_0018);
    }
    config.max_shrink_iters = 256;
    config
}

proptest! {
    #![proptest_config(config())]

    /// `eval` with any candidate prints the enforced output unchanged.
    #[test]
    fn eval_prints_the_enforced_output_unchanged_whatever_the_shadow(
        enforced in generate::policy_seed(),
        shadow in candidate(),
        inputs in proptest::collection::vec(generate::input_seed(), 3),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let built = generate::build(&enforced);
        let e = write_set(dir.path(), "enforced", &built.sources);
        let s = write_set(dir.path(), "shadow", &candidate_sources(&shadow));
        let (e, s) = (e.to_str().expect("utf-8"), s.to_str().expect("utf-8"));
        let mut lines = String::new();
        for seed in &inputs {
            let (input, _) = generate::build_input(&built, seed);
            let text = input.to_string();
            lines.push_str(&text);
            lines.push('\n');
            for flags in [&[][..], &["--compact"][..], &["--exit-code"][..]] {
                let mut base = vec!["eval", "-p", e];
                base.extend_from_slice(flags);
                let without = cli(&base, &text);
                base.extend_from_slice(&["--shadow", s]);
                let with = cli(&base, &text);
                prop_assert_eq!(without.0, with.0, "exit codes");
                let member = spliced_member(&without.1, &with.1);
                prop_assert!(member.is_ok(), "{:?}\n{}", member, built.text());
                let member = member.unwrap_or_default();
                let alone = cli(&["eval", "-p", s, "--compact"], &text);
                let alone: Json = serde_json::from_str(&alone.1).unwrap_or_default();
                prop_assert_eq!(&member["decision"], &alone);
            }
            let without = cli(&["eval", "-p", e, "--explain"], &text);
            let with = cli(&["eval", "-p", e, "--explain", "--shadow", s], &text);
            prop_assert_eq!(without.0, with.0);
            prop_assert!(with.1.starts_with(&without.1), "{}\n{}", without.1, with.1);
            prop_assert!(with.1[without.1.len()..].starts_with("shadow policy "));
        }
        let without = cli(&["eval", "-p", e, "--jsonl", "--exit-code"], &lines);
        let with = cli(&["eval", "-p", e, "--jsonl", "--exit-code", "--shadow", s], &lines);
        prop_assert_eq!(without.0, with.0);
        let pairs: Vec<(&str, &str)> = without.1.lines().zip(with.1.lines()).collect();
        prop_assert_eq!(pairs.len(), inputs.len());
        for (a, b) in pairs {
            let member = spliced_member(a, b);
            prop_assert!(member.is_ok(), "{:?}", member);
        }
    }

    /// The gate's enforced answer, state, roles and deadline are the same
    /// with any shadow set; the shadow is kept in the row only.
    #[test]
    fn the_gate_enforces_the_same_whatever_the_shadow(
        enforced in generate::policy_seed(),
        shadow in candidate(),
        inputs in proptest::collection::vec(generate::input_seed(), 3),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let built = generate::build(&enforced);
        let e = write_set(dir.path(), "enforced", &built.sources);
        let s = write_set(dir.path(), "shadow", &candidate_sources(&shadow));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let result: Result<(), TestCaseError> = runtime.block_on(async {
            let plain_dir = dir.path().join("plain");
            let shadowed_dir = dir.path().join("shadowed");
            std::fs::create_dir_all(&plain_dir).expect("mkdir");
            std::fs::create_dir_all(&shadowed_dir).expect("mkdir");
            let plain = gate_on(&plain_dir, &e, None).await;
            let shadowed = gate_on(&shadowed_dir, &e, Some(&s)).await;
            let candidate = LoadedPolicy::load(&s).expect("loads");
            for seed in &inputs {
                let (input, _) = generate::build_input(&built, seed);
                let text = input.to_string();
                let a = plain.create_request(&agent(), &text, None).await;
                let b = shadowed.create_request(&agent(), &text, None).await;
                let (a, b) = match (a, b) {
                    (Ok(a), Ok(b)) => (a, b),
                    (Err(a), Err(b)) => {
                        prop_assert_eq!((a.status, a.code), (b.status, b.code));
                        continue;
                    }
                    (a, b) => {
                        prop_assert!(false, "one failed: {:?} / {:?}", a.err(), b.err());
                        unreachable!()
                    }
                };
                prop_assert_eq!(a.0, b.0);
                prop_assert!(!b.1.contains("\"shadow\""), "the answer holds no shadow: {}", b.1);
                prop_assert_eq!(enforced_part(&a.1), enforced_part(&b.1));
                let id = serde_json::from_str::<Json>(&b.1).expect("JSON")["id"]
                    .as_str()
                    .expect("an id")
                    .to_owned();
                let row = shadowed.store.get(&id).await.expect("read").expect("the row");
                let kept = row.shadow.expect("the shadow is kept");
                prop_assert_eq!(&kept["policy"]["digest"], candidate.policy.digest());
                let shadow_decision = candidate.policy.evaluate_with(
                    &input,
                    &gatehouse::EvalOptions::default(),
                );
                prop_assert_eq!(&kept["decision"]["outcome"], &json!(shadow_decision.outcome));
                let enforced: gatehouse::Decision =
                    serde_json::from_value(row.decision.clone()).expect("a decision");
                prop_assert_eq!(
                    kept["differs"].as_bool(),
                    Some(gatehouse::audit::impact::decisions_differ(&enforced, &shadow_decision))
                );
                let audit = shadowed.store.audit_of(&id).await.expect("audit");
                let decide = audit
                    .iter()
                    .map(|(_, l)| serde_json::from_str::<Json>(l).expect("JSON"))
                    .find(|r| r["event"] == "decide")
                    .expect("a decide record");
                prop_assert_eq!(&decide["detail"]["shadow"]["differs"], &kept["differs"]);
                prop_assert_eq!(&decide["detail"]["shadow"]["outcome"], &kept["decision"]["outcome"]);
            }
            Ok(())
        });
        result?;
    }
}

fn policy(name: &str) -> String {
    format!("{ROOT}/policies/{name}")
}

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/examples/actions/{name}")).expect("example")
}

/// Digests change with the shipped sets; snapshots keep their shape.
fn stable(text: &str) -> String {
    let re = regex::Regex::new("sha256:[0-9a-f]{64}").expect("regex");
    re.replace_all(text, "sha256:[digest]").into_owned()
}

#[test]
fn eval_explain_with_a_shadow_lists_each_difference() {
    let (code, out, err) = cli(
        &[
            "eval",
            "-p",
            &policy("ai-agent-actions"),
            "--explain",
            "--shadow",
            &policy("simple-router"),
            "-",
        ],
        &example("crm-update.json"),
    );
    assert_eq!((code, err.as_str()), (0, ""));
    insta::assert_snapshot!(stable(&out));
}

#[test]
fn eval_json_with_a_shadow_adds_one_member() {
    let (code, out, err) = cli(
        &[
            "eval",
            "-p",
            &policy("ai-agent-actions"),
            "--compact",
            "--shadow",
            &policy("simple-router"),
        ],
        &example("refund-small.json"),
    );
    assert_eq!((code, err.as_str()), (0, ""));
    let doc: Json = serde_json::from_str(&out).expect("JSON");
    insta::assert_json_snapshot!(json!({
        "enforced": doc["outcome"],
        "shadow_policy": doc["shadow"]["policy"]["name"],
        "shadow_outcome": doc["shadow"]["decision"]["outcome"],
        "differs": doc["shadow"]["differs"],
        "members": doc.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
    }));
}

#[test]
fn a_shadow_that_does_not_compile_is_a_usage_error_and_nothing_is_printed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = write_set(
        dir.path(),
        "broken",
        &[(
            "main.gate".into(),
            "policy \"x\" version \"1\"\n\nrule r \"r\"\n  when nope == 1\n  then tier 9\n".into(),
        )],
    );
    for args in [
        vec!["eval", "-p", &*policy("ai-agent-actions"), "--shadow"],
        vec![
            "replay",
            "-",
            "-p",
            &*policy("ai-agent-actions"),
            "--shadow",
        ],
    ] {
        let mut args: Vec<&str> = args;
        args.push(broken.to_str().expect("utf-8"));
        let (code, out, err) = cli(&args, &example("crm-update.json"));
        assert_eq!(code, 2, "{err}");
        assert_eq!(out, "");
        assert!(err.contains("does not compile"), "{err}");
    }
    let missing = dir.path().join("missing");
    let (code, out, _) = cli(
        &[
            "eval",
            "-p",
            &policy("ai-agent-actions"),
            "--shadow",
            missing.to_str().expect("utf-8"),
        ],
        &example("crm-update.json"),
    );
    assert_eq!((code, out.as_str()), (2, ""));
}

#[test]
fn replay_with_a_shadow_reports_where_the_candidate_differs_and_keeps_the_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("audit.jsonl");
    let log_s = log.to_str().expect("utf-8");
    for name in [
        "crm-update.json",
        "refund-small.json",
        "internal-summary.json",
    ] {
        let (code, _, err) = cli(
            &[
                "eval",
                "-p",
                &policy("ai-agent-actions"),
                "--now",
                "2026-12-05T10:00:00Z",
                "--audit-log",
                log_s,
                "-",
            ],
            &example(name),
        );
        assert_eq!(code, 0, "{err}");
    }
    let base = ["replay", log_s, "-p", &*policy("ai-agent-actions")];
    let (code_plain, plain, _) = cli(&base, "");
    let mut with_args = base.to_vec();
    let auto = write_set(dir.path(), "auto", &[("main.gate".into(), AUTO_ALL.into())]);
    with_args.extend(["--shadow", auto.to_str().expect("utf-8")]);
    let (code, out, err) = cli(&with_args, "");
    assert_eq!(code, code_plain, "{err}");
    assert!(
        out.starts_with(&plain),
        "the replay's own report is unchanged"
    );
    // Record ids and digests vary from run to run: the shape is pinned.
    let re = regex::Regex::new("dec_[0-9a-f]{32}").expect("regex");
    insta::assert_snapshot!(re.replace_all(&stable(&out[plain.len()..]), "dec_[id]"));

    with_args.extend(["--format", "json"]);
    let (code, out, _) = cli(&with_args, "");
    assert_eq!(code, code_plain);
    let doc: Json = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["shadow"]["policy"]["name"], "auto-everything");
    assert_eq!(doc["shadow"]["decisions"], 3);
    let (_, plain_json, _) = cli(&[&base[..], &["--format", "json"]].concat(), "");
    spliced_member(&plain_json, &out).expect("the replay document is unchanged");

    // The same from stdin.
    let text = std::fs::read_to_string(&log).expect("log");
    let mut stdin_args = vec!["replay", "-", "-p"];
    let p = policy("ai-agent-actions");
    stdin_args.push(&p);
    stdin_args.extend([
        "--shadow",
        auto.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    let (code, from_stdin, _) = cli(&stdin_args, &text);
    assert_eq!(code, code_plain);
    let from_stdin: Json = serde_json::from_str(&from_stdin).expect("JSON");
    assert_eq!(from_stdin["shadow"], doc["shadow"]);
}

/// `replay --shadow --sample-key-file`: both policies decide with the
/// service's key, so the candidate's differences are the sampled actions of
/// the chain itself, not those of the public draw.
#[test]
fn replay_with_a_shadow_samples_with_the_replay_key() {
    const SAMPLED: &str = "policy \"sampled\" version \"1\"\n\nschema {\n  action.n: number\n}\n\nreason OK \"fine\"\n\ntier 0 \"auto\" {\n  outcome auto\n  sample 50% for review\n}\n\ndefault tier 0 because OK\n";
    let unsampled = SAMPLED.replace("  sample 50% for review\n", "");
    let dir = tempfile::tempdir().expect("temp dir");
    let with = write_set(dir.path(), "with", &[("main.gate".into(), SAMPLED.into())]);
    let without = write_set(dir.path(), "without", &[("main.gate".into(), unsampled)]);
    let key = dir.path().join("key");
    std::fs::write(&key, format!("{}\n", "5a".repeat(32))).expect("key");
    let log = dir.path().join("audit.jsonl");
    let (with_s, without_s, key_s, log_s) = (
        with.to_str().expect("utf-8"),
        without.to_str().expect("utf-8"),
        key.to_str().expect("utf-8"),
        log.to_str().expect("utf-8"),
    );
    let lines: String = (0..40)
        .map(|n| format!("{{\"action\": {{\"n\": {n}}}}}\n"))
        .collect();
    let (code, _, err) = cli(
        &[
            "eval",
            "-p",
            with_s,
            "--sample-key-file",
            key_s,
            "--jsonl",
            "--audit-log",
            log_s,
            "-",
        ],
        &lines,
    );
    assert_eq!(code, 0, "{err}");
    let recorded = std::fs::read_to_string(&log).expect("log");
    let sampled: std::collections::BTreeSet<String> = recorded
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).expect("record"))
        .filter(|r| r.to_string().contains("SAMPLED_FOR_REVIEW"))
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    assert!(
        !sampled.is_empty() && sampled.len() < 40,
        "{}",
        sampled.len()
    );
    let (code, out, err) = cli(
        &[
            "replay",
            log_s,
            "-p",
            with_s,
            "--sample-key-file",
            key_s,
            "--shadow",
            without_s,
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(
        code, 0,
        "the replay with the right key is identical: {err}{out}"
    );
    let doc: Json = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["shadow"]["differ"], sampled.len(), "{}", doc["shadow"]);
    let changed: std::collections::BTreeSet<String> = doc["shadow"]["impact"]
        .to_string()
        .split('"')
        .filter(|s| s.starts_with("dec_"))
        .map(str::to_owned)
        .collect();
    assert_eq!(changed, sampled, "{}", doc["shadow"]["impact"]);
}
