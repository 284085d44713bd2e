//! A real browser for the console's end-to-end tests: Debian's headless
//! Chromium driven through chromedriver (WebDriver) with fantoccini.
//!
//! `Browser` is synchronous like the harness's blocking reqwest client: it
//! owns a small tokio runtime and blocks on each WebDriver call, so a test
//! reads as a list of steps. Each `Browser` starts its own chromedriver on a
//! free port with a fresh Chromium profile (no cookie, cache or history is
//! shared between browsers) and kills both on drop.
//!
//! Chromium and chromedriver come from the distribution (`chromium` and
//! `chromium-driver`); `scripts/browser-deps.sh` installs them and
//! `scripts/test` runs it before `cargo test`. A missing driver is a test
//! failure that says so, never a skipped test. `CHROMEDRIVER` and `CHROMIUM`
//! override the paths.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value as Json, json};

/// The desktop window size of every browser (and of the README's
/// screenshots).
pub const DESKTOP: (u32, u32) = (1280, 900);
/// A phone's viewport (an iPhone 12-14 in CSS pixels).
pub const PHONE: (u32, u32) = (390, 844);

/// WebDriver's code points for the keys the console's tests press.
pub mod keys {
    /// Enter.
    pub const ENTER: char = '\u{e007}';
    /// Escape.
    pub const ESCAPE: char = '\u{e00c}';
    /// Control.
    pub const CONTROL: char = '\u{e009}';
}

/// At most this many browsers run at once in the test binary: Chromium is
/// heavy and CI has two cores. A test waits for a slot.
const MAX_BROWSERS: usize = 2;

/// How long one browser waits for chromedriver to listen, and how long a
/// page load or script may take before the call fails.
const DRIVER_START: Duration = Duration::from_secs(60);
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

static SLOTS: Mutex<usize> = Mutex::new(0);
static SLOT_FREED: Condvar = Condvar::new();

/// One of the `MAX_BROWSERS` slots, given back on drop.
struct Slot;

impl Slot {
    fn take() -> Slot {
        // a panicking test holding the lock must not block the others
        let mut used = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        while *used >= MAX_BROWSERS {
            used = SLOT_FREED.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut used = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        *used -= 1;
        SLOT_FREED.notify_one();
    }
}

/// The chromedriver binary: `CHROMEDRIVER`, else Debian's path.
fn driver_path() -> PathBuf {
    std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

/// The Chromium binary: `CHROMIUM`, else Debian's path.
fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Where screenshots go: `<target dir>/console-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("console-screenshots")
}

/// A free TCP port on 127.0.0.1 (the OS picks it; chromedriver binds it a
/// moment later, and `Browser::start` retries when another process won the
/// race).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A headless Chromium with its own chromedriver and profile.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    // dropped after the processes are gone (fields drop in order, and
    // `Drop::drop` runs first)
    profile: tempfile::TempDir,
    _slot: Slot,
}

impl Browser {
    /// Starts chromedriver and a Chromium session at the desktop size.
    /// Panics, with the command to run, when chromedriver is missing.
    pub fn start() -> Browser {
        Browser::start_with(&[])
    }

    /// `start` with extra Chromium command-line arguments.
    pub fn start_with(extra_args: &[&str]) -> Browser {
        let slot = Slot::take();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let profile = tempfile::tempdir().expect("a profile dir");
        let driver_bin = driver_path();
        if !driver_bin.exists() {
            panic!(
                "chromedriver not found at {}: run scripts/browser-deps.sh \
                 (installs Debian's chromium and chromium-driver), or set CHROMEDRIVER",
                driver_bin.display()
            );
        }
        let chromium = chromium_path();
        if !chromium.exists() {
            panic!(
                "chromium not found at {}: run scripts/browser-deps.sh, or set CHROMIUM",
                chromium.display()
            );
        }
        let mut last_error = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let log = std::fs::File::create(profile.path().join("chromedriver.log"))
                .expect("chromedriver log file");
            let mut cmd = Command::new(&driver_bin);
            cmd.arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().expect("log handle")))
                .stderr(Stdio::from(log));
            // its own process group, so that drop can kill chromedriver and
            // every Chromium process it started at once
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            let mut driver = match cmd.spawn() {
                Ok(child) => child,
                Err(e) => panic!(
                    "cannot start {}: {e}: run scripts/browser-deps.sh",
                    driver_bin.display()
                ),
            };
            if !wait_listening(port, &mut driver) {
                last_error = std::fs::read_to_string(profile.path().join("chromedriver.log"))
                    .unwrap_or_default();
                kill_group(&mut driver);
                continue;
            }
            let mut args = vec![
                "--headless=new".to_owned(),
                "--no-sandbox".to_owned(),
                "--disable-gpu".to_owned(),
                "--disable-quic".to_owned(),
                "--no-first-run".to_owned(),
                "--disable-background-networking".to_owned(),
                "--disable-component-update".to_owned(),
                "--disable-sync".to_owned(),
                // /dev/shm is small in containers; Chromium then crashes tabs
                "--disable-dev-shm-usage".to_owned(),
                format!(
                    "--user-data-dir={}",
                    profile.path().join("chromium").display()
                ),
                format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
            ];
            args.extend(extra_args.iter().map(|a| (*a).to_owned()));
            let mut caps = serde_json::Map::new();
            caps.insert("browserName".into(), json!("chrome"));
            caps.insert("pageLoadStrategy".into(), json!("normal"));
            caps.insert(
                "goog:chromeOptions".into(),
                json!({ "binary": chromium, "args": args }),
            );
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let session = rt.block_on(
                ClientBuilder::new(connector)
                    .capabilities(caps)
                    .connect(&format!("http://127.0.0.1:{port}")),
            );
            match session {
                Ok(client) => {
                    let browser = Browser {
                        rt,
                        client: Some(client),
                        driver,
                        profile,
                        _slot: slot,
                    };
                    browser.block(browser.client().update_timeouts(
                        fantoccini::wd::TimeoutConfiguration::new(
                            Some(PAGE_TIMEOUT),
                            Some(PAGE_TIMEOUT),
                            Some(Duration::ZERO),
                        ),
                    ));
                    return browser;
                }
                Err(e) => {
                    last_error = format!("{e}");
                    kill_group(&mut driver);
                }
            }
        }
        panic!("no Chromium session after 3 attempts: {last_error}");
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("a session")
    }

    /// Runs one WebDriver call to completion; a WebDriver error panics with
    /// the page's URL (a test step that cannot happen is a failed test).
    fn block<T, E: std::fmt::Display>(
        &self,
        f: impl std::future::Future<Output = Result<T, E>>,
    ) -> T {
        match self.rt.block_on(f) {
            Ok(v) => v,
            Err(e) => {
                let url = self
                    .rt
                    .block_on(self.client().current_url())
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                panic!("WebDriver: {e} (page {url})")
            }
        }
    }

    /// Opens a URL and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.block(self.client().goto(url));
    }

    /// The current URL.
    pub fn current_url(&self) -> String {
        self.block(self.client().current_url()).to_string()
    }

    /// The current URL's path and query (`/console/?x=1`).
    pub fn path(&self) -> String {
        let url = self.block(self.client().current_url());
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The page's HTML as the browser holds it now (the DOM serialized).
    pub fn page_source(&self) -> String {
        self.block(self.client().source())
    }

    /// The first element matching `css`; panics with the page's URL and
    /// an excerpt of its text when there is none.
    pub fn find(&self, css: &str) -> El<'_> {
        match self.try_find(css) {
            Some(el) => el,
            None => panic!(
                "no element `{css}` on {}; the page says:\n{}",
                self.current_url(),
                excerpt(&self.body_text())
            ),
        }
    }

    /// The first element matching `css`, if any (no waiting: pages are
    /// server-rendered and complete when `goto` or a click returns).
    pub fn try_find(&self, css: &str) -> Option<El<'_>> {
        match self.rt.block_on(self.client().find(Locator::Css(css))) {
            Ok(e) => Some(El { b: self, e }),
            Err(e) if e.is_no_such_element() => None,
            Err(e) => panic!("WebDriver: {e} (finding `{css}`)"),
        }
    }

    /// Every element matching `css`, in document order.
    pub fn find_all(&self, css: &str) -> Vec<El<'_>> {
        self.block(self.client().find_all(Locator::Css(css)))
            .into_iter()
            .map(|e| El { b: self, e })
            .collect()
    }

    /// Waits (up to a minute) for an element matching `css`: after a
    /// navigation started by script (`form.submit()`), which WebDriver does
    /// not wait for. Panics with the page's text when none appears.
    pub fn wait_for(&self, css: &str) -> El<'_> {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            // a page being replaced may answer with a stale element
            if let Ok(e) = self.rt.block_on(self.client().find(Locator::Css(css))) {
                return El { b: self, e };
            }
            if Instant::now() >= deadline {
                panic!(
                    "no element `{css}` appeared on {} within {PAGE_TIMEOUT:?}; the page says:\n{}",
                    self.current_url(),
                    excerpt(&self.body_text())
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (up to a minute) until the current path and query satisfy
    /// `done`: a navigation started by script or by a key.
    pub fn wait_for_path(&self, what: &str, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let path = self.path();
            if done(&path) {
                return;
            }
            if Instant::now() >= deadline {
                panic!("the browser did not reach {what}; it is on {path}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether an element matches `css`.
    pub fn exists(&self, css: &str) -> bool {
        self.try_find(css).is_some()
    }

    /// Clicks the element matching `css` (and waits for a navigation it
    /// starts, as WebDriver's click does).
    pub fn click(&self, css: &str) {
        self.find(css).click();
    }

    /// Clicks a link or a form's button matching `css` and waits until the
    /// next page has loaded. WebDriver's click alone may return before a
    /// form's navigation begins (seen under load), and a test that then
    /// asks the API would race the submission.
    pub fn click_and_load(&self, css: &str) {
        self.find(css).click_and_load();
    }

    /// Marks the current document, so that `wait_new_page` can tell the
    /// next one from it.
    fn mark_page(&self) {
        self.execute("window.__gatehouse_e2e_old_page = true;", vec![]);
    }

    /// Waits (up to a minute) until a new document replaced the marked one
    /// and has loaded.
    fn wait_new_page(&self) {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            // during the switch a script may fail: not loaded yet
            let loaded = self.rt.block_on(self.client().execute(
                "return window.__gatehouse_e2e_old_page === undefined \
                 && document.readyState === 'complete';",
                vec![],
            ));
            if matches!(loaded, Ok(Json::Bool(true))) {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "no new page loaded within {PAGE_TIMEOUT:?}; still on {}",
                    self.current_url()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Replaces the value of the input or textarea matching `css`.
    pub fn fill(&self, css: &str, text: &str) {
        self.find(css).fill(text);
    }

    /// Chooses the option with this `value` in the select matching `css`.
    pub fn select(&self, css: &str, value: &str) {
        let el = self.find(css);
        self.block(el.e.select_by_value(value));
    }

    /// The rendered text of the element matching `css`.
    pub fn text(&self, css: &str) -> String {
        self.find(css).text()
    }

    /// An attribute of the element matching `css`.
    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).attr(name)
    }

    /// The whole page's rendered text.
    pub fn body_text(&self) -> String {
        self.rt
            .block_on(async {
                let body = self.client().find(Locator::Css("body")).await?;
                body.text().await
            })
            .unwrap_or_default()
    }

    /// The cookies the browser holds for the current page.
    pub fn cookies(&self) -> Vec<fantoccini::cookies::Cookie<'static>> {
        self.block(self.client().get_all_cookies())
    }

    /// Adds a cookie for the current page's site (e.g. a stale session
    /// cookie put back after sign-out).
    pub fn add_cookie(&self, cookie: fantoccini::cookies::Cookie<'static>) {
        self.block(self.client().add_cookie(cookie));
    }

    /// Types keys into whatever has the focus (the page's body when
    /// nothing does): each character is pressed and released, so a page's
    /// `keydown` handlers see it. Special keys are WebDriver's code points
    /// (`'\u{e007}'` is Enter, see `fantoccini::key::Key`).
    pub fn press(&self, keys: &str) {
        let mut actions = KeyActions::new("keyboard".to_owned());
        for c in keys.chars() {
            actions = actions
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.block(self.client().perform_actions(actions));
    }

    /// Presses keys together (`['\u{e009}', '\u{e007}']` is Ctrl+Enter):
    /// each goes down in order, then all come up in reverse.
    pub fn chord(&self, keys: &[char]) {
        let mut actions = KeyActions::new("keyboard".to_owned());
        for &c in keys {
            actions = actions.then(KeyAction::Down { value: c });
        }
        for &c in keys.iter().rev() {
            actions = actions.then(KeyAction::Up { value: c });
        }
        self.block(self.client().perform_actions(actions));
    }

    /// Runs a JavaScript snippet (a function body: `return x;` gives x).
    pub fn execute(&self, script: &str, args: Vec<Json>) -> Json {
        self.block(self.client().execute(script, args))
    }

    /// The text of an open `alert()`/`confirm()` dialog, if any.
    pub fn alert_text(&self) -> Option<String> {
        self.rt.block_on(self.client().get_alert_text()).ok()
    }

    /// Resizes the window.
    pub fn window_size(&self, (width, height): (u32, u32)) {
        self.block(self.client().set_window_size(width, height));
    }

    /// A phone-size window (`PHONE`).
    pub fn phone(&self) {
        self.window_size(PHONE);
    }

    /// Saves a PNG of the viewport to `<target>/console-screenshots/<name>.png`
    /// and gives its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.block(self.client().screenshot());
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// The profile directory of this browser (chromedriver's log is there).
    pub fn profile_dir(&self) -> &std::path::Path {
        self.profile.path()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // ends the session: chromedriver quits Chromium; bounded, since a
            // wedged browser must not hang the test binary
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), client.close()).await
            });
        }
        kill_group(&mut self.driver);
    }
}

/// An element of the page.
pub struct El<'a> {
    b: &'a Browser,
    /// The WebDriver element.
    pub e: Element,
}

impl El<'_> {
    /// Its rendered text.
    pub fn text(&self) -> String {
        self.b.block(self.e.text())
    }

    /// An attribute (`None` when absent).
    pub fn attr(&self, name: &str) -> Option<String> {
        self.b.block(self.e.attr(name))
    }

    /// A DOM property (`value`, `checked`, ...).
    pub fn prop(&self, name: &str) -> Option<String> {
        self.b.block(self.e.prop(name))
    }

    /// The element's tag name, lower case.
    pub fn tag(&self) -> String {
        self.b.block(self.e.tag_name()).to_lowercase()
    }

    /// Its outer HTML.
    pub fn html(&self) -> String {
        self.b.block(self.e.html(false))
    }

    /// Whether it is shown.
    pub fn is_displayed(&self) -> bool {
        self.b.block(self.e.is_displayed())
    }

    /// Clicks it.
    pub fn click(&self) {
        self.b.block(self.e.click());
    }

    /// Clicks it (a link or a form's button) and waits until the next
    /// page has loaded.
    pub fn click_and_load(&self) {
        self.b.mark_page();
        self.click();
        self.b.wait_new_page();
    }

    /// Replaces its value with `text`.
    pub fn fill(&self, text: &str) {
        self.b.block(self.e.clear());
        self.b.block(self.e.send_keys(text));
    }

    /// Types into it (focus moves there).
    pub fn send_keys(&self, text: &str) {
        self.b.block(self.e.send_keys(text));
    }

    /// A descendant matching `css`.
    pub fn find(&self, css: &str) -> Option<El<'_>> {
        match self.b.rt.block_on(self.e.find(Locator::Css(css))) {
            Ok(e) => Some(El { b: self.b, e }),
            Err(e) if e.is_no_such_element() => None,
            Err(e) => panic!("WebDriver: {e} (finding `{css}` in an element)"),
        }
    }

    /// Every descendant matching `css`.
    pub fn find_all(&self, css: &str) -> Vec<El<'_>> {
        self.b
            .block(self.e.find_all(Locator::Css(css)))
            .into_iter()
            .map(|e| El { b: self.b, e })
            .collect()
    }
}

/// Waits until chromedriver accepts connections on `port`; false when it
/// exited (another process took the port) or did not listen in time.
fn wait_listening(port: u16, driver: &mut Child) -> bool {
    let deadline = Instant::now() + DRIVER_START;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if let Ok(Some(_)) = driver.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// SIGKILLs chromedriver's process group (chromedriver and the Chromium it
/// started), then reaps chromedriver.
fn kill_group(driver: &mut Child) {
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg("--")
        .arg(format!("-{}", driver.id()))
        .stderr(Stdio::null())
        .status();
    let _ = driver.kill();
    let _ = driver.wait();
}

/// The first lines of a page's text, for failure messages.
fn excerpt(text: &str) -> String {
    text.lines().take(40).collect::<Vec<_>>().join("\n")
}
