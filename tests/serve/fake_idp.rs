//! A fake OpenID provider inside the test process: a small HTTP/1.1 server
//! on 127.0.0.1 (std threads, one per connection) serving discovery,
//! `/authorize` (which redirects straight back with a code, as a provider
//! does once the person has signed in) and `/token` (which checks the
//! code, the redirect URI, the PKCE verifier and the client's credentials,
//! and answers an ID token signed with the test issuer key). Knobs make it
//! misbehave in each way a real provider (or an attacker between) can.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value as Json, json};
use sha2::{Digest as _, Sha256};

/// How the provider behaves; change it between sign-ins.
#[derive(Clone, Debug)]
pub struct Knobs {
    /// The `email` claim (the trust store's identity claim).
    pub identity: String,
    /// The client secret a confidential client must send (HTTP Basic);
    /// `None`: a public client, `client_id` in the form.
    pub secret: Option<String>,
    /// A `nonce` to put in the ID token instead of the one asked for.
    pub nonce: Option<String>,
    /// An `aud` instead of the client id.
    pub audience: Option<Json>,
    /// `exp` relative to now, in seconds.
    pub expires_in: i64,
    /// Sign with a key the trust store does not hold (same `kid`).
    pub forge: bool,
    /// `/authorize` sends the browser back with `?error=` instead of a code.
    pub authorize_error: Option<String>,
    /// `/token` answers this status and JSON body instead of a token.
    pub token_error: Option<(u16, Json)>,
    /// `/token` closes the connection without answering.
    pub token_drop: bool,
    /// `/token` waits this long before answering.
    pub token_delay: Option<Duration>,
    /// `/authorize` names this issuer in its answer (RFC 9207 `iss`).
    pub authorize_iss: Option<String>,
    /// The discovery document names this issuer instead of its own.
    pub discovery_issuer: Option<String>,
}

impl Default for Knobs {
    fn default() -> Knobs {
        Knobs {
            identity: "rita@example.com".into(),
            secret: None,
            nonce: None,
            audience: None,
            expires_in: 3600,
            forge: false,
            authorize_error: None,
            token_error: None,
            token_drop: false,
            token_delay: None,
            authorize_iss: None,
            discovery_issuer: None,
        }
    }
}

/// What the provider was sent.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Discovery documents served.
    pub discovery: usize,
    /// Each `/authorize` query.
    pub authorize: Vec<HashMap<String, String>>,
    /// Each `/token` call: its `Authorization` header and form.
    pub token: Vec<(Option<String>, HashMap<String, String>)>,
}

/// A code handed out by `/authorize`, with what it was issued for.
#[derive(Clone, Debug)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: String,
    challenge: String,
}

/// The running provider.
pub struct FakeIdp {
    /// `http://127.0.0.1:PORT` (also its issuer).
    pub base: String,
    /// How it behaves.
    pub knobs: Arc<Mutex<Knobs>>,
    /// What it was sent.
    pub seen: Arc<Mutex<Seen>>,
}

struct Shared {
    base: String,
    knobs: Arc<Mutex<Knobs>>,
    seen: Arc<Mutex<Seen>>,
    grants: Mutex<HashMap<String, Grant>>,
}

impl FakeIdp {
    /// Starts the provider on an ephemeral port.
    pub fn start() -> FakeIdp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake provider");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            base: base.clone(),
            knobs: Arc::default(),
            seen: Arc::default(),
            grants: Mutex::default(),
        });
        let idp = FakeIdp {
            base,
            knobs: shared.knobs.clone(),
            seen: shared.seen.clone(),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let shared = shared.clone();
                std::thread::spawn(move || serve(&shared, stream));
            }
        });
        idp
    }

    /// Changes the knobs.
    pub fn set(&self, change: impl FnOnce(&mut Knobs)) {
        change(&mut self.knobs.lock().unwrap());
    }

    /// A copy of what it was sent.
    pub fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }
}

/// A fixture file of tests/fixtures/trust.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/trust")
            .join(name),
    )
    .unwrap()
}

/// The lowercase base64url S256 challenge of a PKCE verifier.
pub fn s256(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let method = words.next()?.to_owned();
    let target = words.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Request {
        method,
        path: path.to_owned(),
        query: pairs(query.as_bytes()),
        headers,
        body,
    })
}

fn enc(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn pairs(bytes: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

fn respond(mut stream: &TcpStream, status: u16, headers: &[(&str, &str)], body: &str) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

fn json_answer(stream: &TcpStream, status: u16, body: &Json) {
    respond(
        stream,
        status,
        &[("Content-Type", "application/json")],
        &body.to_string(),
    );
}

fn serve(shared: &Shared, stream: TcpStream) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let knobs = shared.knobs.lock().unwrap().clone();
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/.well-known/openid-configuration") => {
            shared.seen.lock().unwrap().discovery += 1;
            let issuer = knobs
                .discovery_issuer
                .unwrap_or_else(|| shared.base.clone());
            json_answer(
                &stream,
                200,
                &json!({
                    "issuer": issuer,
                    "authorization_endpoint": format!("{}/authorize", shared.base),
                    "token_endpoint": format!("{}/token", shared.base),
                    "jwks_uri": format!("{}/jwks", shared.base),
                    "response_types_supported": ["code"],
                    "code_challenge_methods_supported": ["S256"],
                }),
            );
        }
        ("GET", "/authorize") => authorize(shared, &knobs, &stream, request),
        ("POST", "/token") => token(shared, &knobs, &stream, &request),
        _ => respond(&stream, 404, &[], "not found"),
    }
}

fn authorize(shared: &Shared, knobs: &Knobs, stream: &TcpStream, request: Request) {
    let q = request.query;
    shared.seen.lock().unwrap().authorize.push(q.clone());
    let field = |k: &str| q.get(k).cloned().unwrap_or_default();
    let redirect = field("redirect_uri");
    let mut back = form_urlencoded::Serializer::new(String::new());
    if let Some(error) = &knobs.authorize_error {
        back.append_pair("error", error)
            .append_pair("error_description", "the person said no");
    } else {
        let code = format!("code-{}", hex::encode(rand_bytes()));
        shared.grants.lock().unwrap().insert(
            code.clone(),
            Grant {
                client_id: field("client_id"),
                redirect_uri: redirect.clone(),
                nonce: field("nonce"),
                challenge: field("code_challenge"),
            },
        );
        back.append_pair("code", &code);
    }
    back.append_pair("state", &field("state"));
    if let Some(iss) = &knobs.authorize_iss {
        back.append_pair("iss", iss);
    }
    let location = format!("{redirect}?{}", back.finish());
    respond(stream, 302, &[("Location", &location)], "");
}

fn rand_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    let seed = format!(
        "{:?}{:?}",
        std::time::SystemTime::now(),
        std::thread::current().id()
    );
    b.copy_from_slice(&Sha256::digest(seed.as_bytes())[..16]);
    b
}

fn token(shared: &Shared, knobs: &Knobs, stream: &TcpStream, request: &Request) {
    let form = pairs(&request.body);
    let authorization = request.headers.get("authorization").cloned();
    shared
        .seen
        .lock()
        .unwrap()
        .token
        .push((authorization.clone(), form.clone()));
    if knobs.token_drop {
        let _ = stream.shutdown(std::net::Shutdown::Both);
        return;
    }
    if let Some(delay) = knobs.token_delay {
        std::thread::sleep(delay);
    }
    if let Some((status, body)) = &knobs.token_error {
        return json_answer(stream, *status, body);
    }
    let invalid = |why: &str| {
        json_answer(
            stream,
            400,
            &json!({"error": "invalid_grant", "error_description": why}),
        );
    };
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    // Single use, as RFC 6749 §4.1.2 demands.
    let Some(grant) = shared.grants.lock().unwrap().remove(field("code")) else {
        return invalid("unknown or used code");
    };
    if field("grant_type") != "authorization_code" {
        return invalid("grant_type");
    }
    if field("redirect_uri") != grant.redirect_uri {
        return invalid("redirect_uri differs from the authorization request's");
    }
    if s256(field("code_verifier")) != grant.challenge {
        return invalid("PKCE verifier does not match the challenge");
    }
    let client_ok = match &knobs.secret {
        Some(secret) => {
            // RFC 6749 §2.3.1: each part form-encoded, then Basic.
            let expected = format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{}", enc(&grant.client_id), enc(secret)))
            );
            authorization.as_deref() == Some(expected.as_str())
        }
        None => field("client_id") == grant.client_id && authorization.is_none(),
    };
    if !client_ok {
        return json_answer(stream, 401, &json!({"error": "invalid_client"}));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = json!({
        "iss": shared.base,
        "aud": knobs.audience.clone().unwrap_or(json!(grant.client_id)),
        "sub": format!("u-{}", knobs.identity),
        "email": knobs.identity,
        "nonce": knobs.nonce.clone().unwrap_or(grant.nonce),
        "iat": now - 5,
        "exp": now + knobs.expires_in,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("idp-rsa-1".into());
    let key = if knobs.forge {
        "other-rsa.der"
    } else {
        "idp-rsa.der"
    };
    let id_token =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_der(&fixture(key))).unwrap();
    json_answer(
        stream,
        200,
        &json!({"access_token": "opaque", "token_type": "Bearer", "expires_in": 300, "id_token": id_token}),
    );
}
