//! A PostgreSQL cluster of the run's own, in a temporary directory: the
//! run restarts it (`pg_ctl restart -m immediate`, a crash: no checkpoint,
//! no goodbye to clients), which it may not do to a server others share.
//!
//! PostgreSQL refuses to run as root, so when the test runs as root the
//! cluster's directory is given to the `postgres` user and every server
//! command runs through `runuser -u postgres --`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Where the PostgreSQL server binaries are: `GATEHOUSE_TEST_PG_BIN`, else
/// the newest `/usr/lib/postgresql/*/bin` holding `pg_ctl`.
pub fn pg_bin() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("GATEHOUSE_TEST_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if dir.join("pg_ctl").is_file() {
            Ok(dir)
        } else {
            Err(format!(
                "GATEHOUSE_TEST_PG_BIN=`{}` holds no `pg_ctl`",
                dir.display()
            ))
        };
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "no PostgreSQL server binaries: install them (scripts/postgres.sh does, as CI runs it) \
         or set GATEHOUSE_TEST_PG_BIN to the directory holding `pg_ctl`"
            .to_owned()
    })
}

/// A running cluster, stopped (immediately) on drop.
pub struct Cluster {
    bin: PathBuf,
    /// Holds `data/` and `server.log`; removed on drop.
    dir: tempfile::TempDir,
    /// The port it listens on (127.0.0.1 only, no Unix socket).
    pub port: u16,
    as_postgres: bool,
}

impl Cluster {
    /// `initdb` (trust authentication, user `postgres`) and start on a free
    /// port.
    pub fn start() -> Result<Cluster, String> {
        let bin = pg_bin()?;
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let as_postgres = running_as_root(dir.path());
        let port = free_port();
        let cluster = Cluster {
            bin,
            dir,
            port,
            as_postgres,
        };
        if as_postgres {
            checked(
                Command::new("chown")
                    .arg("-R")
                    .arg("postgres:postgres")
                    .arg(cluster.dir.path())
                    .output(),
                "chown the cluster directory to `postgres`",
            )?;
        }
        checked(
            cluster
                .command("initdb")
                .arg("-D")
                .arg(cluster.data())
                .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
                .output(),
            "initdb",
        )?;
        cluster.ctl(&["start"])?;
        Ok(cluster)
    }

    /// The URL of its `postgres` database (no password: trust).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server the way a crash does (`-m immediate`: no
    /// checkpoint, connections cut) and starts it again; recovery replays
    /// the WAL. Returns once it accepts connections again.
    pub fn restart_immediate(&self) -> Result<(), String> {
        self.ctl(&["restart", "-m", "immediate"])
    }

    /// The server's own log (for a failure message).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `pg_ctl ACTION` on this cluster, waiting for it to finish.
    fn ctl(&self, action: &[&str]) -> Result<(), String> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200",
            self.port
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "120", "-o", &options])
            .args(action)
            .output();
        checked(out, &format!("pg_ctl {}", action.join(" ")))
            .map_err(|e| format!("{e}\nserver log:\n{}", self.log_tail()))
    }

    /// A server binary, as `postgres` when running as root.
    fn command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// Whether this process runs as root: the owner of a file it just made.
fn running_as_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(dir).is_ok_and(|m| m.uid() == 0)
}

/// A port free now (bound and released): the run gives each process a
/// fixed port so clients find it again after a restart.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free localhost port")
}

fn checked(out: std::io::Result<Output>, what: &str) -> Result<(), String> {
    match out {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "{what} failed ({}):\n{}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(format!("{what}: cannot run it: {e}")),
    }
}

/// Waits up to `within` for `ready`, polling; whether it became true.
pub fn wait_until(within: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
