//! The CI integrations of docs/ci.md keep their promises: the composite
//! action (`action.yml`) and the example workflow
//! (`examples/ci/github-workflow.yml`) pin every action by a full commit SHA
//! with its version, ask for the least permissions, never upload an empty or
//! missing SARIF log, and build gatehouse from the lock file. The action's
//! shell steps are run, as a runner would run them, in a temporary
//! repository that holds only policies.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn text(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&text(path)).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn steps(v: &Value) -> &Vec<Value> {
    v.get("steps")
        .and_then(Value::as_sequence)
        .expect("a list of steps")
}

/// Every `uses:` of a file is `owner/repo[/path]@<40 hex digits> # vN...`;
/// returns (action, major version) of each. `allowed_placeholder` is the one
/// line that names gatehouse itself, which the user fills in.
fn pinned_uses(path: &str, allowed_placeholder: Option<&str>) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for line in text(path).lines() {
        let line = line.trim().trim_start_matches("- ");
        let Some(rest) = line.strip_prefix("uses: ") else {
            continue;
        };
        if Some(rest) == allowed_placeholder {
            continue;
        }
        let (action, rest) = rest
            .split_once('@')
            .unwrap_or_else(|| panic!("{path}: `{line}`"));
        let (sha, comment) = rest.split_once(" # ").unwrap_or((rest, ""));
        assert!(
            sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "{path}: `{action}` is not pinned by a full commit SHA: `{line}`"
        );
        let major = comment
            .strip_prefix('v')
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| panic!("{path}: `{line}` has no `# vX.Y.Z` comment"));
        out.push((action.to_owned(), major));
    }
    out
}

#[test]
fn the_action_builds_from_its_own_source_with_the_lock_file() {
    let action = yaml("action.yml");
    let runs = action.get("runs").expect("runs");
    assert_eq!(str_of(runs, "using"), Some("composite"));
    let scripts: Vec<&str> = steps(runs)
        .iter()
        .filter_map(|s| str_of(s, "run"))
        .collect();
    assert!(
        scripts.iter().any(|s| s
            .contains("cargo install --locked --root \"$root\" --path \"$GITHUB_ACTION_PATH\"")),
        "the action installs from its own checkout, with --locked"
    );
    for script in &scripts {
        // inputs reach scripts through env:, so none can inject shell code
        assert!(
            !script.contains("${{"),
            "a script expands an expression:\n{script}"
        );
        assert!(!script.contains("cargo install --path ."), "{script}");
    }
    let uses = pinned_uses("action.yml", None);
    assert_eq!(uses.len(), 1, "{uses:?}");
    assert!(uses[0].0 == "actions/cache" && uses[0].1 >= 4, "{uses:?}");
}

#[test]
fn the_workflow_pins_current_majors_with_least_permissions() {
    let placeholder = "OWNER/gatehouse@COMMIT_SHA # vX.Y.Z";
    let uses = pinned_uses("examples/ci/github-workflow.yml", Some(placeholder));
    let major = |name: &str| {
        uses.iter()
            .find(|(a, _)| a == name)
            .map(|(_, m)| *m)
            .unwrap_or_else(|| panic!("the workflow does not use {name}"))
    };
    assert!(major("actions/checkout") >= 5);
    assert!(
        major("github/codeql-action/upload-sarif") >= 4,
        "v3 is deprecated"
    );
    let workflow = yaml("examples/ci/github-workflow.yml");
    assert!(
        text("examples/ci/github-workflow.yml").contains(&format!("- uses: {placeholder}")),
        "the workflow runs the gatehouse action"
    );

    let read_only: serde_yaml::Mapping = serde_yaml::from_str("contents: read").expect("yaml");
    let top = workflow.get("permissions").and_then(Value::as_mapping);
    assert_eq!(top, Some(&read_only), "workflow-wide permissions");
    let jobs = workflow
        .get("jobs")
        .and_then(Value::as_mapping)
        .expect("jobs");
    let mut uploads = 0;
    for (name, job) in jobs {
        let perms = job
            .get("permissions")
            .and_then(Value::as_mapping)
            .unwrap_or_else(|| panic!("job {name:?} states its permissions"));
        let writes: Vec<&str> = perms
            .iter()
            .filter(|(_, v)| v.as_str() == Some("write"))
            .filter_map(|(k, _)| k.as_str())
            .collect();
        let step_uses: Vec<&str> = steps(job)
            .iter()
            .filter_map(|s| str_of(s, "uses"))
            .collect();
        let uploads_sarif = step_uses.iter().any(|u| u.contains("upload-sarif"));
        if uploads_sarif {
            uploads += 1;
            assert_eq!(writes, ["security-events"], "job {name:?}");
            assert!(
                !step_uses.iter().any(|u| u.contains("gatehouse")),
                "the job that may write runs no gatehouse code"
            );
        } else {
            assert!(writes.is_empty(), "job {name:?} may write: {writes:?}");
        }
    }
    assert_eq!(uploads, 1, "one job uploads the SARIF log");
}

/// The upload step runs only when an earlier step of its job found a
/// non-empty log (`[ -s FILE ]`) and said so in the output it tests.
#[test]
fn the_sarif_upload_never_runs_on_an_empty_or_missing_file() {
    let workflow = yaml("examples/ci/github-workflow.yml");
    let jobs = workflow
        .get("jobs")
        .and_then(Value::as_mapping)
        .expect("jobs");
    let job = jobs
        .values()
        .find(|j| {
            steps(j)
                .iter()
                .any(|s| str_of(s, "uses").is_some_and(|u| u.contains("upload-sarif")))
        })
        .expect("an upload job");
    let steps = steps(job);
    let upload = steps
        .iter()
        .position(|s| str_of(s, "uses").is_some_and(|u| u.contains("upload-sarif")))
        .expect("upload");
    let file = steps[upload]
        .get("with")
        .and_then(|w| str_of(w, "sarif_file"))
        .expect("sarif_file");
    let condition = str_of(&steps[upload], "if").expect("the upload has a condition");
    let guard = steps[..upload]
        .iter()
        .find(|s| {
            let id = str_of(s, "id").unwrap_or("-");
            condition.contains(&format!("steps.{id}.outputs."))
        })
        .expect("the condition tests an earlier step's output");
    let script = str_of(guard, "run").expect("the guard is a script");
    assert!(script.contains(&format!("[ -s {file} ]")), "{script}");

    // and the gatehouse job hands a log on only when the action wrote one
    let action = yaml("action.yml");
    let sarif_step = steps_of_action(&action)
        .into_iter()
        .find(|s| str_of(s, "id") == Some("sarif"))
        .expect("the action's SARIF step");
    let script = str_of(&sarif_step, "run").expect("script");
    assert!(
        script.contains("if [ -s \"$GATEHOUSE_SARIF\" ]"),
        "{script}"
    );
}

fn steps_of_action(action: &Value) -> Vec<Value> {
    steps(action.get("runs").expect("runs")).clone()
}

// ------------------------------------------ the action's steps, for real --

/// A repository that holds only policies and their test inputs.
fn policies_only_repo(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-ci-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let subs = [
        "policies/ai-agent-actions",
        "policies/simple-router",
        "examples/actions",
        "examples/router",
    ];
    for sub in subs {
        let target = dir.join(sub);
        std::fs::create_dir_all(&target).expect("dir");
        for entry in std::fs::read_dir(Path::new(ROOT).join(sub)).expect("read") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, target.join(path.file_name().expect("name"))).expect("copy");
            }
        }
    }
    dir
}

/// The value of a `${{ inputs.NAME }}`-style expression under `inputs`.
fn expand(value: &str, inputs: &serde_yaml::Mapping) -> String {
    let input = |name: &str| {
        inputs
            .get(name)
            .and_then(|i| str_of(i, "default"))
            .unwrap_or("")
            .to_owned()
    };
    match value
        .trim()
        .strip_prefix("${{ inputs.")
        .and_then(|v| v.strip_suffix(" }}"))
    {
        Some(name) => input(name),
        None => value.to_owned(),
    }
}

/// The two forms of `if:` the action uses: `inputs.X == 'true'` and
/// `inputs.X != ''`. Anything else is a failure, so a new condition gets a
/// test here.
fn condition_holds(condition: &str, inputs: &serde_yaml::Mapping) -> bool {
    let (name, op, literal) = if let Some((l, r)) = condition.split_once(" == ") {
        (l, true, r)
    } else if let Some((l, r)) = condition.split_once(" != ") {
        (l, false, r)
    } else {
        panic!("an `if:` the test does not know: {condition}")
    };
    let name = name.trim().strip_prefix("inputs.").expect("an input");
    let value = expand(&format!("${{{{ inputs.{name} }}}}"), inputs);
    (value == literal.trim().trim_matches('\'')) == op
}

struct Run {
    /// Exit code of each step that ran, by name.
    codes: Vec<(String, i32)>,
    outputs: String,
}

/// Runs the action's `run:` steps with its default inputs in `repo`, as a
/// runner would: bash `-eo pipefail`, GITHUB_ACTION_PATH at this checkout,
/// GITHUB_OUTPUT and GITHUB_PATH files, and the cache step's hit simulated
/// by a gatehouse binary already in the cached install root (building
/// gatehouse with `cargo install` takes minutes; the install command itself
/// is checked above). Stops at the first failing step, as a runner does.
fn run_action(repo: &Path) -> Run {
    let action = yaml("action.yml");
    let inputs = action
        .get("inputs")
        .and_then(Value::as_mapping)
        .expect("inputs")
        .clone();
    let home = repo.join("home");
    let bin = home.join(".gatehouse-action/bin");
    std::fs::create_dir_all(&bin).expect("dir");
    std::fs::copy(env!("CARGO_BIN_EXE_gatehouse"), bin.join("gatehouse")).expect("copy");
    let output_file = repo.join("github-output");
    let path_file = repo.join("github-path");
    let mut codes = Vec::new();
    for step in steps_of_action(&action) {
        let name = str_of(&step, "name").unwrap_or("?").to_owned();
        let Some(script) = str_of(&step, "run") else {
            continue; // the cache step: its hit is simulated
        };
        if let Some(condition) = str_of(&step, "if")
            && !condition_holds(condition, &inputs)
        {
            continue;
        }
        assert_eq!(str_of(&step, "shell"), Some("bash"), "step {name}");
        let mut path_dirs: Vec<String> = std::fs::read_to_string(&path_file)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        path_dirs.push(std::env::var("PATH").unwrap_or_default());
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(repo)
            .env("HOME", &home)
            .env("PATH", path_dirs.join(":"))
            .env("GITHUB_ACTION_PATH", ROOT)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_PATH", &path_file)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64");
        if let Some(env) = step.get("env").and_then(Value::as_mapping) {
            for (k, v) in env {
                let value = expand(v.as_str().unwrap_or_default(), &inputs);
                command.env(k.as_str().expect("a name"), value);
            }
        }
        let out = command.output().expect("bash runs");
        let code = out.status.code().unwrap_or(-1);
        codes.push((name.clone(), code));
        if code != 0 {
            eprintln!(
                "step `{name}` exited {code}:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            break;
        }
    }
    Run {
        codes,
        outputs: std::fs::read_to_string(&output_file).unwrap_or_default(),
    }
}

#[test]
fn the_action_steps_pass_in_a_repository_of_only_policies() {
    let repo = policies_only_repo("clean");
    assert!(!repo.join("Cargo.toml").exists());
    let run = run_action(&repo);
    let names: Vec<&str> = run.codes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Cache key for the gatehouse build",
            "Install gatehouse",
            "Check the layout",
            "Lint for code scanning",
            "Lint",
            "Test"
        ]
    );
    assert!(run.codes.iter().all(|(_, c)| *c == 0), "{:?}", run.codes);
    assert!(
        run.outputs.contains("key=gatehouse-cli-Linux-X64-"),
        "{}",
        run.outputs
    );
    assert!(
        run.outputs.contains("file=gatehouse.sarif\n"),
        "{}",
        run.outputs
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("gatehouse.sarif")).expect("log"))
            .expect("the SARIF log is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let _ = std::fs::remove_dir_all(&repo);
}

#[test]
fn a_finding_fails_the_lint_step_but_the_sarif_log_is_written() {
    let repo = policies_only_repo("finding");
    // an unused role: a warning, which the default `deny-warnings` fails on
    let main = repo.join("policies/simple-router/router.gate");
    let mut text = std::fs::read_to_string(&main).expect("read");
    text.push_str("\nrole nobody_uses_me\n");
    std::fs::write(&main, text).expect("write");
    let run = run_action(&repo);
    let code = |step: &str| run.codes.iter().find(|(n, _)| n == step).map(|(_, c)| *c);
    assert_eq!(code("Lint for code scanning"), Some(0), "{:?}", run.codes);
    assert_eq!(code("Lint"), Some(1), "{:?}", run.codes);
    assert_eq!(code("Test"), None, "the job stops at the failing step");
    let log = std::fs::read_to_string(repo.join("gatehouse.sarif")).expect("log");
    assert!(log.contains("L0012"), "the finding is in the log");
    assert!(run.outputs.contains("file=gatehouse.sarif\n"));
    let _ = std::fs::remove_dir_all(&repo);
}

// -------------------------------------------------------------- pre-commit --

/// Both variants of each hook: `language: rust` (built by pre-commit) and
/// `language: system` (the gatehouse on PATH, installed with `--locked`),
/// with the same entry and file patterns; each entry, run by the real
/// binary on a clean policy set as pre-commit would run it, passes.
#[test]
fn pre_commit_hooks_come_in_rust_and_system_variants() {
    let hooks: Value = serde_yaml::from_str(&text(".pre-commit-hooks.yaml")).expect("yaml");
    let hooks = hooks.as_sequence().expect("a list of hooks");
    let hook = |id: &str| {
        hooks
            .iter()
            .find(|h| str_of(h, "id") == Some(id))
            .unwrap_or_else(|| panic!("no hook {id}"))
    };
    let repo = policies_only_repo("pre-commit");
    for (id, entry, files, pass_filenames) in [
        (
            "gatehouse-check",
            "gatehouse check",
            r"(\.gate|(^|/)gatehouse\.toml)$",
            Some(false),
        ),
        ("gatehouse-fmt", "gatehouse fmt --check", r"\.gate$", None),
    ] {
        for (id, language) in [(id.to_owned(), "rust"), (format!("{id}-system"), "system")] {
            let h = hook(&id);
            assert_eq!(str_of(h, "language"), Some(language), "{id}");
            assert_eq!(str_of(h, "entry"), Some(entry), "{id}");
            assert_eq!(str_of(h, "files"), Some(files), "{id}");
            assert_eq!(
                h.get("pass_filenames").and_then(Value::as_bool),
                pass_filenames,
                "{id}: a policy set is a directory"
            );
        }
        let mut argv = entry.split_whitespace().skip(1);
        let status = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(argv.by_ref())
            .arg("policies/")
            .current_dir(&repo)
            .status()
            .expect("runs");
        assert!(
            status.success(),
            "`{entry} policies/` fails on clean policies"
        );
    }
    assert_eq!(hooks.len(), 4, "no other hooks");
    let _ = std::fs::remove_dir_all(&repo);
}
