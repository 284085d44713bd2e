//! The deployment examples in deploy/ (docs/deploy.md) against the binary
//! they run: every file parses; the compose file has PostgreSQL and at
//! least two replicas whose flags and environment variables `gatehouse
//! serve --help` lists (so a renamed flag fails here, not in someone's
//! cluster); every health check path is one the real server answers 200
//! on; the Kubernetes objects name each other consistently (secrets,
//! config maps, labels, ports) and the configuration file they mount is
//! one the service accepts. No container engine runs here: this parses and
//! cross-checks, it does not deploy.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_yaml::Value as Yaml;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every YAML document of a file (a file may hold several, `---` apart).
fn documents(path: &Path) -> Vec<Yaml> {
    let text = read(path);
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| {
            serde::Deserialize::deserialize(d)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
        })
        .filter(|d: &Yaml| !d.is_null())
        .collect()
}

/// Every YAML file under deploy/, sorted.
fn yaml_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("deploy/ exists") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("deploy"), &mut out);
    out.sort();
    out
}

/// A mapping's value by key (`Null` when absent).
fn get<'a>(value: &'a Yaml, key: &str) -> &'a Yaml {
    static NULL: Yaml = Yaml::Null;
    value.get(key).unwrap_or(&NULL)
}

fn text(value: &Yaml) -> &str {
    value.as_str().unwrap_or_default()
}

/// A sequence's strings (numbers written as strings too); a scalar alone
/// is one item.
fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::Sequence(items) => items.iter().map(scalar).collect(),
        Yaml::Null => Vec::new(),
        other => vec![scalar(other)],
    }
}

fn scalar(value: &Yaml) -> String {
    match value {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, found {other:?}"),
    }
}

/// What a `gatehouse` subcommand accepts, read from its `--help`: the
/// long flags and the environment variables clap reads.
struct Accepted {
    command: String,
    flags: BTreeSet<String>,
    env: BTreeSet<String>,
}

impl Accepted {
    fn of(subcommand: &str) -> Accepted {
        let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args([subcommand, "--help"])
            .output()
            .expect("run gatehouse");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "`gatehouse {subcommand} --help` fails (is the subcommand gone?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let flag = regex::Regex::new(r"(?m)^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)").expect("regex");
        let env = regex::Regex::new(r"\[env: ([A-Z][A-Z0-9_]*)").expect("regex");
        let mut accepted = Accepted {
            command: format!("gatehouse {subcommand}"),
            flags: flag.captures_iter(&help).map(|c| c[1].to_owned()).collect(),
            env: env.captures_iter(&help).map(|c| c[1].to_owned()).collect(),
        };
        // The log filter is read by the command itself, not through clap
        // (src/cli/serve.rs); it counts only while that code reads it.
        if subcommand == "serve"
            && read(&root().join("src/cli/serve.rs")).contains("\"GATEHOUSE_LOG\"")
        {
            accepted.env.insert("GATEHOUSE_LOG".to_owned());
        }
        assert!(
            accepted.flags.contains("--help") && !accepted.env.is_empty(),
            "the help of `gatehouse {subcommand}` was not understood:\n{help}"
        );
        accepted
    }

    /// The flags of `args` this command does not accept.
    fn unknown_flags(&self, args: &[String]) -> Vec<String> {
        args.iter()
            .filter(|a| a.starts_with("--"))
            .map(|a| a.split('=').next().unwrap_or(a).to_owned())
            .filter(|f| !self.flags.contains(f))
            .collect()
    }

    /// The `GATEHOUSE_*` names of `names` this command does not read.
    fn unknown_env<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        names
            .into_iter()
            .filter(|n| n.starts_with("GATEHOUSE_") && !self.env.contains(*n))
            .map(str::to_owned)
            .collect()
    }

    fn assert_accepts(&self, what: &str, args: &[String], env: &[String]) {
        let flags = self.unknown_flags(args);
        assert!(
            flags.is_empty(),
            "{what}: `{}` has no flag {flags:?} (it has {:?})",
            self.command,
            self.flags
        );
        let names = self.unknown_env(env.iter().map(String::as_str));
        assert!(
            names.is_empty(),
            "{what}: `{}` reads no variable {names:?} (it reads {:?})",
            self.command,
            self.env
        );
    }
}

/// The value following `flag` in an argument list.
fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// `GATEHOUSE_*` names assigned or used in a shell command line.
fn env_in_shell(line: &str) -> Vec<String> {
    let name = regex::Regex::new(r"GATEHOUSE_[A-Z0-9_]+").expect("regex");
    name.find_iter(line)
        .map(|m| m.as_str().to_owned())
        .collect()
}

/// Answers GET `path` on a real `gatehouse serve` (SQLite, the shipped
/// policy): its status. The health checks of the examples must name
/// routes the binary has, answering 200 when the service is well.
fn live_status(paths: &BTreeSet<String>) -> BTreeMap<String, u16> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .arg("--policy")
        .arg(root().join("policies/ai-agent-actions"))
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("GATEHOUSE_CONFIG")
        .env_remove("GATEHOUSE_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gatehouse serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // A generous bound on an event (the server announcing its address).
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(addr) = line.strip_prefix("gatehouse serve: listening on ") {
                    break addr.trim().to_owned();
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("gatehouse serve did not start");
            }
        }
    };
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let statuses = paths
        .iter()
        .map(|p| {
            let status = http
                .get(format!("{base}{p}"))
                .send()
                .map_or(0, |r| r.status().as_u16());
            (p.clone(), status)
        })
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    statuses
}

/// The path of an HTTP URL on the container's own address.
fn local_path(check: &str) -> Option<String> {
    let url = regex::Regex::new(r"http://127\.0\.0\.1:8080(/[^\s\x22']*)").expect("regex");
    url.captures(check).map(|c| c[1].to_owned())
}

#[test]
fn every_deploy_file_parses() {
    let files = yaml_files();
    assert!(
        files.len() >= 7,
        "the compose file and the Kubernetes manifests: {files:?}"
    );
    for file in &files {
        assert!(!documents(file).is_empty(), "{} is empty", file.display());
    }
}

/// The compose file's services running `gatehouse <subcommand>`: name,
/// subcommand, arguments and environment variable names (its
/// `environment` and those its entrypoint sets).
fn gatehouse_services(compose: &Yaml) -> Vec<(String, String, Vec<String>, Vec<String>)> {
    let subcommand = regex::Regex::new(r"\bgatehouse (serve|migrate)\b").expect("regex");
    let mut out = Vec::new();
    for (name, service) in get(compose, "services").as_mapping().expect("services") {
        let name = scalar(name);
        let entrypoint = strings(get(service, "entrypoint")).join(" ");
        let command = strings(get(service, "command"));
        let command_line = command.join(" ");
        let Some(sub) = subcommand
            .captures(&entrypoint)
            .or_else(|| subcommand.captures(&command_line))
        else {
            continue;
        };
        let mut env: Vec<String> = match get(service, "environment") {
            Yaml::Mapping(m) => m.keys().map(scalar).collect(),
            other => strings(other)
                .iter()
                .map(|kv| kv.split('=').next().unwrap_or_default().to_owned())
                .collect(),
        };
        env.extend(env_in_shell(&entrypoint));
        out.push((name, sub[1].to_owned(), command, env));
    }
    out
}

#[test]
fn the_compose_file_runs_postgres_and_two_replicas_on_flags_the_binary_accepts() {
    let path = root().join("deploy/docker-compose.yml");
    let compose = documents(&path).remove(0);
    let services = get(&compose, "services");
    let postgres = get(services, "postgres");
    assert!(
        text(get(postgres, "image")).starts_with("postgres:15"),
        "a PostgreSQL 15 service named `postgres`: {postgres:?}"
    );
    assert!(
        !get(postgres, "healthcheck").is_null(),
        "the database has a health check (the migration waits for it)"
    );
    let serve = Accepted::of("serve");
    let migrate = Accepted::of("migrate");
    let found = gatehouse_services(&compose);
    let replicas: Vec<_> = found.iter().filter(|s| s.1 == "serve").collect();
    assert!(replicas.len() >= 2, "two replicas or more: {found:?}");
    let declared: BTreeSet<String> = get(&compose, "secrets")
        .as_mapping()
        .expect("top-level secrets")
        .keys()
        .map(scalar)
        .collect();
    let mut health = BTreeSet::new();
    for (name, sub, args, env) in &found {
        let accepted = if sub == "serve" { &serve } else { &migrate };
        accepted.assert_accepts(name, args, env);
        let service = get(services, name);
        let secrets = strings(get(service, "secrets"));
        for secret in &secrets {
            assert!(
                declared.contains(secret),
                "{name}: secret `{secret}` is not declared"
            );
        }
        // The database URL comes from a secret file, never from the file
        // (`$$` is compose's escape of `$`: the shell sees `$(cat ...)`).
        let entrypoint = strings(get(service, "entrypoint")).join(" ");
        assert!(
            entrypoint.contains("GATEHOUSE_DATABASE_URL=\"$$(cat /run/secrets/database_url)\"")
                && secrets.iter().any(|s| s == "database_url"),
            "{name}: the database URL is read from the `database_url` secret: {entrypoint}"
        );
        if sub != "serve" {
            continue;
        }
        // The signing key every replica shares: a secret file.
        let key = flag_value(args, "--signing-key-file").unwrap_or_else(|| {
            panic!("{name}: every replica signs with one key (--signing-key-file)")
        });
        let key_secret = key.strip_prefix("/run/secrets/").unwrap_or_default();
        assert!(
            secrets.iter().any(|s| s == key_secret),
            "{name}: --signing-key-file {key} is one of its secrets {secrets:?}"
        );
        // The policy: mounted read-only where --policy points.
        let policy = flag_value(args, "--policy").expect("--policy");
        let volumes = strings(get(service, "volumes"));
        assert!(
            volumes
                .iter()
                .any(|v| v.ends_with(&format!(":{policy}:ro"))),
            "{name}: the policy is mounted read-only at {policy}: {volumes:?}"
        );
        // Waits for the migration.
        assert_eq!(
            text(get(get(get(service, "depends_on"), "migrate"), "condition")),
            "service_completed_successfully",
            "{name} starts after the migration"
        );
        let check = strings(get(get(service, "healthcheck"), "test")).join(" ");
        let path = local_path(&check)
            .unwrap_or_else(|| panic!("{name}: a health check over HTTP: {check}"));
        assert_eq!(path, "/ready", "{name}: Docker's health is readiness");
        health.insert(path);
    }
    // The balancer's own check goes through to a replica's liveness.
    let balancer = strings(get(get(get(services, "balancer"), "healthcheck"), "test")).join(" ");
    health.insert(local_path(&balancer).expect("the balancer's health check"));
    // The balancer sends to every replica, on the port they listen on.
    let nginx = read(&root().join("deploy/nginx.conf"));
    for (name, _, args, _) in &replicas {
        let port = flag_value(args, "--listen")
            .and_then(|l| l.rsplit(':').next())
            .expect("--listen");
        assert!(
            nginx.contains(&format!("server {name}:{port}")),
            "nginx.conf balances over {name}:{port}"
        );
    }
    // The URL make-secrets.sh writes names the database service.
    let secrets = read(&root().join("deploy/make-secrets.sh"));
    assert!(secrets.contains("@postgres:5432/gatehouse"), "{secrets}");
    assert_eq!(
        get(get(postgres, "environment"), "POSTGRES_DB"),
        &Yaml::from("gatehouse")
    );
    assert_routes_answer(&health);
}

/// Every path answers 200 on a real server (and is in the router's table).
fn assert_routes_answer(paths: &BTreeSet<String>) {
    for path in paths {
        assert!(
            gatehouse_server::api::ROUTES.contains(&("GET", path.as_str())),
            "`GET {path}` is not a route of the service"
        );
    }
    for (path, status) in live_status(paths) {
        assert_eq!(status, 200, "GET {path} on a healthy server");
    }
}

/// The Kubernetes objects by kind and name.
fn kubernetes() -> BTreeMap<(String, String), Yaml> {
    let mut objects = BTreeMap::new();
    for file in yaml_files() {
        if !file.starts_with(root().join("deploy/kubernetes")) {
            continue;
        }
        for doc in documents(&file) {
            let api = text(get(&doc, "apiVersion"));
            let kind = text(get(&doc, "kind")).to_owned();
            let name = text(get(get(&doc, "metadata"), "name")).to_owned();
            assert!(
                !api.is_empty() && !kind.is_empty() && !name.is_empty(),
                "{}: every object has apiVersion, kind and metadata.name",
                file.display()
            );
            let previous = objects.insert((kind.clone(), name.clone()), doc);
            assert!(previous.is_none(), "two objects {kind}/{name}");
        }
    }
    objects
}

fn object<'a>(objects: &'a BTreeMap<(String, String), Yaml>, kind: &str, name: &str) -> &'a Yaml {
    objects
        .get(&(kind.to_owned(), name.to_owned()))
        .unwrap_or_else(|| panic!("no {kind}/{name} in deploy/kubernetes"))
}

/// Whether `selector` (matchLabels or a plain map) selects `labels`.
fn selects(selector: &Yaml, labels: &Yaml) -> bool {
    let wanted = match get(selector, "matchLabels") {
        Yaml::Null => selector,
        m => m,
    };
    let Some(wanted) = wanted.as_mapping() else {
        return false;
    };
    !wanted.is_empty() && wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The keys a Secret or ConfigMap holds.
fn keys_of(object: &Yaml) -> BTreeSet<String> {
    ["data", "stringData"]
        .iter()
        .filter_map(|k| get(object, k).as_mapping())
        .flat_map(|m| m.keys().map(scalar))
        .collect()
}

/// Every secretKeyRef of a container's env names a key of its Secret;
/// the env names the command reads.
fn check_env(
    objects: &BTreeMap<(String, String), Yaml>,
    container: &Yaml,
    accepted: &Accepted,
) -> Vec<String> {
    let mut names = Vec::new();
    for var in get(container, "env").as_sequence().into_iter().flatten() {
        names.push(text(get(var, "name")).to_owned());
        let secret = get(get(var, "valueFrom"), "secretKeyRef");
        if !secret.is_null() {
            let holder = object(objects, "Secret", text(get(secret, "name")));
            let key = text(get(secret, "key"));
            assert!(
                keys_of(holder).contains(key),
                "the Secret has no key `{key}`"
            );
        }
    }
    let args = strings(get(container, "args"));
    accepted.assert_accepts(text(get(container, "name")), &args, &names);
    names
}

#[test]
fn the_kubernetes_manifests_agree_with_each_other_and_with_the_binary() {
    let objects = kubernetes();
    let deployment = object(&objects, "Deployment", "gatehouse");
    let spec = get(deployment, "spec");
    assert!(
        get(spec, "replicas").as_u64().is_some_and(|n| n >= 2),
        "two replicas or more"
    );
    let pod = get(get(spec, "template"), "spec");
    let labels = get(get(get(spec, "template"), "metadata"), "labels");
    assert!(
        selects(get(spec, "selector"), labels),
        "the Deployment selects its pods"
    );
    let containers = get(pod, "containers").as_sequence().expect("containers");
    assert_eq!(containers.len(), 1);
    let container = &containers[0];
    let serve = Accepted::of("serve");
    let env = check_env(&objects, container, &serve);
    assert!(env.iter().any(|n| n == "GATEHOUSE_DATABASE_URL"), "{env:?}");

    // Probes: readiness /ready, liveness the route that stays 200 while the
    // database is away, both on the container's port.
    let ports: Vec<(String, u64)> = get(container, "ports")
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                text(get(p, "name")).to_owned(),
                get(p, "containerPort").as_u64().expect("containerPort"),
            )
        })
        .collect();
    let args = strings(get(container, "args"));
    let listen_port: u64 = flag_value(&args, "--listen")
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("--listen HOST:PORT");
    assert!(
        ports.iter().any(|(_, p)| *p == listen_port),
        "the container port is the one it listens on: {ports:?}"
    );
    let mut health = BTreeSet::new();
    for (probe, want) in [("readinessProbe", Some("/ready")), ("livenessProbe", None)] {
        let get_ = get(get(container, probe), "httpGet");
        let path = text(get(get_, "path")).to_owned();
        let port = get(get_, "port");
        let port = match port {
            Yaml::Number(n) => n.as_u64(),
            other => ports.iter().find(|(n, _)| n == text(other)).map(|p| p.1),
        };
        assert_eq!(port, Some(listen_port), "{probe} asks the container's port");
        if let Some(want) = want {
            assert_eq!(path, want, "{probe}");
        } else {
            assert_ne!(path, "/ready", "liveness must not follow the database");
        }
        health.insert(path);
    }
    assert_routes_answer(&health);

    // Volumes: the config maps and the secret exist, with the keys mounted.
    let mut mounts = BTreeMap::new();
    for volume in get(pod, "volumes").as_sequence().into_iter().flatten() {
        let name = text(get(volume, "name")).to_owned();
        let (kind, source) = if let Some(c) = volume.get("configMap") {
            ("ConfigMap", text(get(c, "name")))
        } else if let Some(s) = volume.get("secret") {
            ("Secret", text(get(s, "secretName")))
        } else {
            continue;
        };
        let holder = object(&objects, kind, source);
        let items = volume
            .get("configMap")
            .or_else(|| volume.get("secret"))
            .map(|v| get(v, "items"))
            .and_then(Yaml::as_sequence);
        let files: BTreeMap<String, String> = match items {
            Some(items) => items
                .iter()
                .map(|i| {
                    let key = text(get(i, "key")).to_owned();
                    assert!(
                        keys_of(holder).contains(&key),
                        "{source} has no key `{key}`"
                    );
                    (text(get(i, "path")).to_owned(), key)
                })
                .collect(),
            None => keys_of(holder)
                .into_iter()
                .map(|k| (k.clone(), k))
                .collect(),
        };
        mounts.insert(name, (kind, source.to_owned(), files));
    }
    // Each file flag points into a mounted volume's file.
    let mounted: Vec<(String, String)> = get(container, "volumeMounts")
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                text(get(m, "name")).to_owned(),
                text(get(m, "mountPath")).to_owned(),
            )
        })
        .collect();
    let file_at = |path: &str| -> (String, String) {
        for (volume, at) in &mounted {
            if let Some(file) = path.strip_prefix(&format!("{at}/"))
                && let Some((_, source, files)) = mounts.get(volume)
                && let Some(key) = files.get(file)
            {
                return (source.clone(), key.clone());
            }
        }
        panic!("{path} is no file of a mounted ConfigMap or Secret")
    };
    let (config_map, key) = file_at(flag_value(&args, "--config").expect("--config"));
    let toml = text(get(
        get(object(&objects, "ConfigMap", &config_map), "data"),
        &key,
    ));
    gatehouse_server::ServerConfig::from_toml(toml)
        .unwrap_or_else(|e| panic!("{config_map}/{key} is refused by the service: {e}"));
    let (secret, _) = file_at(flag_value(&args, "--signing-key-file").expect("--signing-key-file"));
    assert_eq!(
        mounts.values().find(|m| m.1 == secret).map(|m| m.0),
        Some("Secret"),
        "the signing key comes from a Secret"
    );
    let policy = flag_value(&args, "--policy").expect("--policy");
    let (volume, _) = mounted
        .iter()
        .find(|(_, at)| at == policy)
        .expect("the policy is a mounted volume");
    let (kind, policy_map, _) = &mounts[volume];
    assert_eq!(*kind, "ConfigMap");
    assert_policy_is_the_shipped_set(object(&objects, "ConfigMap", policy_map));

    // The Service and the PodDisruptionBudget select these pods; the
    // Service sends to the container's port.
    let service = object(&objects, "Service", "gatehouse");
    assert!(selects(get(get(service, "spec"), "selector"), labels));
    for port in get(get(service, "spec"), "ports")
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let target = get(port, "targetPort");
        assert!(
            ports
                .iter()
                .any(|(n, p)| n == text(target) || target.as_u64() == Some(*p)),
            "the Service's targetPort {target:?} is a container port"
        );
    }
    let pdbs: Vec<_> = objects
        .iter()
        .filter(|((kind, _), _)| kind == "PodDisruptionBudget")
        .collect();
    assert!(!pdbs.is_empty(), "a PodDisruptionBudget");
    for (_, pdb) in pdbs {
        assert!(selects(get(get(pdb, "spec"), "selector"), labels));
    }

    // The migration Job runs `gatehouse migrate` with what it accepts.
    let job = objects
        .iter()
        .find(|((kind, _), _)| kind == "Job")
        .map(|(_, j)| j)
        .expect("a migration Job");
    let job_container = &get(get(get(get(job, "spec"), "template"), "spec"), "containers")
        .as_sequence()
        .expect("containers")[0];
    assert_eq!(
        strings(get(job_container, "command")),
        ["gatehouse", "migrate"],
        "the Job migrates"
    );
    let job_env = check_env(&objects, job_container, &Accepted::of("migrate"));
    assert!(job_env.iter().any(|n| n == "GATEHOUSE_DATABASE_URL"));
}

/// The policy ConfigMap holds the shipped reference set, byte for byte
/// (the set CI checks, lints and tests): every `.gate` file, no other.
fn assert_policy_is_the_shipped_set(config_map: &Yaml) {
    let dir = root().join("policies/ai-agent-actions");
    let mut shipped = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("the shipped set") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|x| x == "gate") {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            shipped.insert(name, read(&path));
        }
    }
    let held: BTreeMap<String, String> = get(config_map, "data")
        .as_mapping()
        .expect("data")
        .iter()
        .map(|(k, v)| (scalar(k), scalar(v)))
        .collect();
    assert_eq!(
        held.keys().collect::<Vec<_>>(),
        shipped.keys().collect::<Vec<_>>(),
        "the policy ConfigMap's files"
    );
    for (name, text) in &shipped {
        assert_eq!(
            &held[name], text,
            "deploy/kubernetes/policy.yaml's {name} differs from policies/ai-agent-actions/{name}"
        );
    }
}

/// The checks above are not vacuous: a renamed flag, a variable the
/// binary does not read, and a path it does not serve are each found.
#[test]
fn a_renamed_flag_an_unknown_variable_or_a_missing_route_is_found() {
    let serve = Accepted::of("serve");
    let args: Vec<String> = ["--policy", "/p", "--data-directory", "/data"]
        .map(str::to_owned)
        .to_vec();
    assert_eq!(serve.unknown_flags(&args), ["--data-directory"]);
    assert_eq!(
        serve.unknown_env(["GATEHOUSE_DATABASE", "GATEHOUSE_POLICY", "HOME"]),
        ["GATEHOUSE_DATABASE"]
    );
    let statuses = live_status(&BTreeSet::from(["/healthcheck".to_owned()]));
    assert_eq!(statuses["/healthcheck"], 404);
    assert!(!selects(
        &serde_yaml::from_str("matchLabels: {app: x}").unwrap(),
        &serde_yaml::from_str("{app: y}").unwrap()
    ));
}
