//! N real `gatehouse serve` processes sharing one database, each on a
//! fixed localhost port so that clients reach it again after a restart,
//! each killable with SIGKILL (no shutdown of any kind) and restartable.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most stderr lines kept per replica (for a failure message).
const LOG_LINES: usize = 200;

/// How long a (re)start may take, retries included: a replica started
/// while the database restarts exits (it cannot open the store) and is
/// started again, as a supervisor would.
const START_WITHIN: Duration = Duration::from_secs(120);

/// How one replica is run.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The policy set.
    pub policy: PathBuf,
    /// The TOML configuration every replica reads.
    pub config: PathBuf,
    /// The database every replica shares (`--database-url`); `None`:
    /// SQLite in each replica's data directory.
    pub database_url: Option<String>,
    /// Where each replica's data directory goes (`replica-N/`).
    pub root: PathBuf,
}

/// One replica: its port, and its process when it runs.
pub struct Replica {
    /// Its fixed port.
    pub port: u16,
    child: Option<Child>,
    data_dir: PathBuf,
    log: Arc<Mutex<VecDeque<String>>>,
    /// How many times it was started.
    pub starts: u32,
}

/// Start attempts that failed, by reason (the process's last `error:`
/// line, or how it ended): a replica started while the database restarts
/// cannot open the store, and is started again.
pub type StartFailures = std::collections::BTreeMap<String, u64>;

/// Every replica of the run.
pub struct Replicas {
    setup: Setup,
    /// Indexed by replica number.
    pub list: Vec<Replica>,
    /// Every failed start attempt, by reason.
    pub start_failures: StartFailures,
}

impl Replicas {
    /// `count` replicas on free ports, none started yet.
    pub fn new(setup: Setup, count: usize) -> Replicas {
        let list = (0..count)
            .map(|i| Replica {
                port: crate::cluster::free_port(),
                child: None,
                data_dir: setup.root.join(format!("replica-{i}")),
                log: Arc::default(),
                starts: 0,
            })
            .collect();
        Replicas {
            setup,
            list,
            start_failures: StartFailures::new(),
        }
    }

    /// `http://127.0.0.1:PORT` of each replica, by number.
    pub fn bases(&self) -> Vec<String> {
        self.list
            .iter()
            .map(|r| format!("http://127.0.0.1:{}", r.port))
            .collect()
    }

    /// Starts replica `i` (retrying while it cannot start, up to
    /// [`START_WITHIN`]); the admin token when this start printed one (the
    /// first start on an empty database).
    pub fn start(&mut self, i: usize) -> Result<Option<String>, String> {
        let setup = self.setup.clone();
        let replica = &mut self.list[i];
        let deadline = Instant::now() + START_WITHIN;
        loop {
            match replica.spawn(&setup) {
                Ok(token) => return Ok(token),
                Err(e) => {
                    *self.start_failures.entry(e.clone()).or_default() += 1;
                    if Instant::now() >= deadline {
                        return Err(format!("replica {i} did not start: {e}"));
                    }
                    std::thread::sleep(Duration::from_millis(300));
                }
            }
        }
    }

    /// SIGKILL replica `i`; whether it was running.
    pub fn kill(&mut self, i: usize) -> bool {
        self.list[i].kill()
    }

    /// Whether replica `i` runs (and has not died by itself).
    pub fn running(&mut self, i: usize) -> bool {
        let replica = &mut self.list[i];
        match replica.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                replica.child = None;
                false
            }
            None => false,
        }
    }

    /// The last stderr lines of every replica.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for (i, r) in self.list.iter().enumerate() {
            out.push_str(&format!("--- replica {i} (port {}) ---\n", r.port));
            for line in r.log.lock().map(|l| l.clone()).unwrap_or_default() {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for r in &mut self.list {
            r.kill();
        }
    }
}

impl Replica {
    fn kill(&mut self) -> bool {
        match self.child.take() {
            Some(mut child) => {
                // `Child::kill` is SIGKILL on Unix.
                let _ = child.kill();
                let _ = child.wait();
                true
            }
            None => false,
        }
    }

    /// One attempt to start: waits for the "listening" line, and on a
    /// first start for the admin token line that follows it.
    fn spawn(&mut self, setup: &Setup) -> Result<Option<String>, String> {
        self.kill();
        std::fs::create_dir_all(&self.data_dir).map_err(|e| e.to_string())?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        command.arg("serve");
        if let Some(url) = &setup.database_url {
            command.arg("--database-url").arg(url);
        }
        let mut child = command
            .arg("--policy")
            .arg(&setup.policy)
            .arg("--config")
            .arg(&setup.config)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env_remove("GATEHOUSE_CONFIG")
            .env_remove("GATEHOUSE_TRUST")
            .env_remove("GATEHOUSE_DATABASE_URL")
            .env_remove("GATEHOUSE_SIGNING_KEY_FILE")
            .env("GATEHOUSE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run gatehouse: {e}"))?;
        self.starts += 1;
        let lines = read_lines(&mut child, &self.log);
        let token = match wait_started(&lines, &mut child) {
            Ok(token) => token,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                // The stderr reader gets the last lines once the pipe closes.
                std::thread::sleep(Duration::from_millis(200));
                let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
                let reason = log
                    .iter()
                    .rev()
                    .find_map(|l| l.strip_prefix("error: "))
                    .map_or(e, |r| r.chars().take(300).collect());
                return Err(reason);
            }
        };
        self.child = Some(child);
        Ok(token)
    }
}

/// Reads the child's stdout into a channel and its stderr into `log`.
fn read_lines(child: &mut Child, log: &Arc<Mutex<VecDeque<String>>>) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // Keeps reading after the receiver is gone: a pipe nobody
                // drains would block the server's next write.
                let _ = tx.send(line);
            }
        });
    }
    if let Some(stderr) = child.stderr.take() {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut log) = log.lock() {
                    if log.len() >= LOG_LINES {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            }
        });
    }
    rx
}

/// Waits for "listening"; then, until a short quiet moment, for the admin
/// token line (printed last, and only on a first start).
fn wait_started(lines: &Receiver<String>, child: &mut Child) -> Result<Option<String>, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut listening = false;
    loop {
        let left = if listening {
            Duration::from_millis(1_500)
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        match lines.recv_timeout(left) {
            Ok(line) => {
                if line.starts_with("gatehouse serve: listening on ") {
                    listening = true;
                } else if let Some(token) =
                    line.strip_prefix("development admin token (shown once, keep it): ")
                {
                    return Ok(Some(token.trim().to_owned()));
                }
            }
            Err(RecvTimeoutError::Timeout) if listening => return Ok(None),
            Err(_) => {
                let status = child.try_wait().ok().flatten();
                return Err(format!("no \"listening\" line (exit status {status:?})"));
            }
        }
    }
}

/// The configuration file of a run: fast sweeps, no console, a short
/// connection timeout so that a database that is away answers 503 soon.
pub fn write_config(dir: &Path) -> PathBuf {
    let text = String::from(
        "sweep_interval_ms = 200\nreload_interval_ms = 0\ndrain_ms = 0\n\n[limits]\nrequest_timeout_ms = 8000\n\n[console]\nenabled = false\n\n[store]\nconnect_timeout_ms = 2000\n",
    );
    let path = dir.join("serve.toml");
    std::fs::write(&path, text).expect("write the configuration");
    path
}
