//! A real `gatehouse serve` process on an ephemeral localhost port, and a
//! real HTTP client, for the service's integration tests.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

/// The store switch (SQLite or PostgreSQL) and direct database access.
pub mod store;

use store::{Database, Sql, StoreKind};

/// The repository's shipped policy set.
pub fn shipped_policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/ai-agent-actions")
}

/// An example action of the repository.
pub fn example(name: &str) -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/actions")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("example action");
    serde_json::from_str(&text).expect("example is JSON")
}

/// How to start a server.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The policy path (default: the shipped set).
    pub policy: Option<PathBuf>,
    /// Extra TOML configuration (written to a file and passed as --config).
    pub config: Option<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// A trust store file.
    pub trust: Option<PathBuf>,
    /// On PostgreSQL: start on this database (another server's, see
    /// [`Server::database_url`]) instead of a fresh one; the server that
    /// created it drops it. Ignored on SQLite.
    pub database_url: Option<String>,
}

/// A running server process.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The admin token printed at first start.
    pub admin: String,
    /// The temporary directory holding the data dir and config.
    pub dir: tempfile::TempDir,
    options: Options,
    /// What the process wrote to stderr (logs), collected by a thread.
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
    /// On PostgreSQL: the database this server runs on (restarts reuse
    /// it); dropped after the process when this server made it.
    database: Option<Database>,
}

impl Server {
    /// Starts a server on the shipped policy with default configuration.
    pub fn start() -> Server {
        Server::start_with(Options::default())
    }

    /// Starts a server with options, in a fresh data directory.
    pub fn start_with(options: Options) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        // The store switch: on PostgreSQL every server gets a fresh
        // database, as every SQLite server gets a fresh data directory.
        let database = match store::kind() {
            StoreKind::Sqlite => None,
            StoreKind::Postgres => Some(match &options.database_url {
                Some(url) => Database::borrowed(url),
                None => Database::create(),
            }),
        };
        let mut server = Server {
            child: None,
            base: String::new(),
            admin: String::new(),
            dir,
            options,
            stderr: Default::default(),
            database,
        };
        let token = server.spawn();
        server.admin = token.expect("a first start prints the admin token");
        server
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The PostgreSQL database this server runs on (`None` on SQLite):
    /// another server started with it in [`Options::database_url`] is a
    /// second replica on the same state.
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(|d| d.url.as_str())
    }

    /// The arguments that point a `gatehouse` process at this server's
    /// state: `--data-dir` and, on PostgreSQL, `--database-url` (for tests
    /// that start the binary themselves on it).
    pub fn store_args(&self) -> Vec<std::ffi::OsString> {
        let mut args = vec!["--data-dir".into(), self.data_dir().into_os_string()];
        if let Some(url) = self.database_url() {
            args.push("--database-url".into());
            args.push(url.into());
        }
        args
    }

    /// A connection to this server's database, as someone holding it
    /// could open one (the SQLite file, or the PostgreSQL database): tests
    /// edit rows behind the gate's back with it.
    pub fn sql(&self) -> Sql {
        match &self.database {
            Some(db) => Sql::postgres(&db.url),
            None => Sql::sqlite(&self.data_dir().join("gatehouse.db")),
        }
    }

    /// Starts the process (again) on the same data directory; gives the
    /// admin token when it printed one.
    fn spawn(&mut self) -> Option<String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.arg("serve")
            .arg("--policy")
            .arg(self.options.policy.clone().unwrap_or_else(shipped_policy))
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(self.store_args())
            .env_remove("GATEHOUSE_CONFIG")
            .env_remove("GATEHOUSE_TRUST")
            // The store is the harness's choice, never the environment's.
            .env_remove("GATEHOUSE_DATABASE_URL")
            .env("GATEHOUSE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(config) = &self.options.config {
            let path = self.dir.path().join("serve.toml");
            std::fs::write(&path, config).expect("write config");
            cmd.arg("--config").arg(path);
        }
        if let Some(trust) = &self.options.trust {
            cmd.arg("--trust").arg(trust);
        }
        for (k, v) in &self.options.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start gatehouse serve");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let log = self.stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut token = None;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => panic!(
                    "the server did not start; stderr:\n{}",
                    self.stderr.lock().unwrap()
                ),
            };
            if let Some(addr) = line.strip_prefix("gatehouse serve: listening on ") {
                self.base = addr.trim().to_owned();
            } else if let Some(rest) =
                line.strip_prefix("development admin token (shown once, keep it): ")
            {
                token = Some(rest.trim().to_owned());
                // the token is the last line printed at start
                break;
            } else if line.starts_with("policy ") && token.is_none() && !self.admin.is_empty() {
                // a restart prints no token: the policy line is the last one
                break;
            }
        }
        self.child = Some(child);
        token
    }

    /// Kills the process with SIGKILL (no shutdown of any kind).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Replaces the extra TOML configuration used by the next
    /// [`Server::restart`] (the data directory stays).
    pub fn set_config(&mut self, config: Option<String>) {
        self.options.config = config;
    }

    /// SIGKILL, then start again on the same data directory.
    pub fn restart(&mut self) {
        self.kill9();
        let token = self.spawn();
        assert!(
            token.is_none(),
            "a restart must not print a new admin token"
        );
    }

    /// Starts the process again on the same data directory after it
    /// exited by itself (a shutdown); no new admin token.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the process is still running");
        let token = self.spawn();
        assert!(
            token.is_none(),
            "a restart must not print a new admin token"
        );
    }

    /// Waits up to `within` for the process to exit by itself; its exit
    /// status, or `None` when it is still running then (it is left running,
    /// and killed on drop).
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("running")
    }

    /// A new API key: its text.
    pub fn key(&self, identity: &str, scopes: &[&str], roles: &[&str]) -> String {
        let (status, body) = self.as_token(&self.admin).post(
            "/v1/admin/keys",
            &json!({"identity": identity, "scopes": scopes, "roles": roles}),
        );
        assert_eq!(status, 201, "{body}");
        body["key"].as_str().expect("key").to_owned()
    }

    /// A client calling as `token`.
    pub fn as_token(&self, token: &str) -> Client {
        Client {
            base: self.base.clone(),
            token: Some(token.to_owned()),
            http: http(),
        }
    }

    /// A client with no credentials.
    pub fn anonymous(&self) -> Client {
        Client {
            base: self.base.clone(),
            token: None,
            http: http(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The process first: a database in use cannot be dropped (the
        // field's own drop, after this, drops it).
        self.kill9();
    }
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client")
}

/// An HTTP client for one caller.
#[derive(Clone)]
pub struct Client {
    /// The server's base URL.
    pub base: String,
    token: Option<String>,
    /// The underlying client.
    pub http: reqwest::blocking::Client,
}

/// A response: status, headers, and the body as JSON (`Json::Null` when
/// it is not JSON; `text` keeps it).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Json,
}

impl Client {
    /// A request builder with the token set.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::blocking::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        r
    }

    /// Sends a request and reads the whole answer.
    pub fn send(&self, r: reqwest::blocking::RequestBuilder) -> Answer {
        let response = r.send().expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Json::Null);
        Answer {
            status,
            headers,
            text,
            json,
        }
    }

    /// POSTs JSON; `(status, body)`.
    pub fn post(&self, path: &str, body: &Json) -> (u16, Json) {
        let a = self.send(
            self.request(reqwest::Method::POST, path)
                .header("content-type", "application/json")
                .body(body.to_string()),
        );
        (a.status, a.json)
    }

    /// POSTs raw text as JSON.
    pub fn post_text(&self, path: &str, body: &str) -> Answer {
        self.send(
            self.request(reqwest::Method::POST, path)
                .header("content-type", "application/json")
                .body(body.to_owned()),
        )
    }

    /// GETs; `(status, body)`.
    pub fn get(&self, path: &str) -> (u16, Json) {
        let a = self.send(self.request(reqwest::Method::GET, path));
        (a.status, a.json)
    }

    /// Creates a request for an action; the request's JSON (asserting 201).
    pub fn create(&self, action: &Json) -> Json {
        let (status, body) = self.post("/v1/requests", action);
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Reviews a request.
    pub fn review(&self, id: &str, decision: &str, reason: &str) -> (u16, Json) {
        self.post(
            &format!("/v1/requests/{id}/decisions"),
            &json!({"decision": decision, "reason": reason}),
        )
    }

    /// Claims a request with the action.
    pub fn claim(&self, id: &str, action: &Json) -> (u16, Json) {
        self.post(&format!("/v1/requests/{id}/claim"), action)
    }
}

/// Asserts an answer is an RFC 9457 problem with this status and code.
pub fn assert_problem(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    let ct = answer
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert_eq!(ct, "application/problem+json", "{}", answer.text);
    assert_eq!(answer.json["status"], status, "{}", answer.text);
    assert_eq!(answer.json["code"], code, "{}", answer.text);
    assert!(
        answer.json["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("https://"))
    );
    assert!(answer.json["title"].is_string());
    assert!(answer.json["detail"].is_string());
}
