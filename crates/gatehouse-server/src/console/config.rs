//! The console's configuration: the `[console]` table of the service's
//! TOML file.
//!
//! ```toml
//! [console]
//! enabled = true                 # serve the review console under /console
//! dev_signin = "auto"            # "auto": on when neither OIDC nor public_url is set and
//!                                # the service listens on loopback; "on"; "off"
//! session_ttl_seconds = 43200    # a sign-in lasts this long (12 h)
//! public_url = "https://gate.example.com"   # where reviewers reach it (OIDC redirect, Origin check)
//!
//! [console.oidc]                 # sign-in with the trust store's OIDC provider
//! client_id = "gatehouse-console"
//! client_secret_env = "GATEHOUSE_OIDC_SECRET"   # optional (public clients use PKCE alone)
//! authorization_endpoint = "https://idp.example.com/authorize"   # else from the issuer's discovery document
//! token_endpoint = "https://idp.example.com/token"
//! scopes = ["openid", "email"]
//! timeout_ms = 4000              # each call to the provider (discovery, token)
//! ```

use serde::Deserialize;

/// The `[console]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Whether `/console` is served at all.
    pub enabled: bool,
    /// The development sign-in (any identity of the approvers directory,
    /// no password).
    pub dev_signin: DevSignin,
    /// How long a sign-in lasts, in seconds (absolute, not idle).
    pub session_ttl_seconds: i64,
    /// The address reviewers reach the console at (scheme, host, port; no
    /// path): the OIDC redirect URI is `<public_url>/console/callback`,
    /// and form posts must come from this origin. Without it, the origin
    /// is the request's own `Host` over `http`.
    pub public_url: Option<String>,
    /// Sign-in with an OIDC provider (authorization code flow, PKCE).
    pub oidc: Option<OidcSignin>,
}

impl Default for ConsoleConfig {
    fn default() -> ConsoleConfig {
        ConsoleConfig {
            enabled: true,
            dev_signin: DevSignin::Auto,
            session_ttl_seconds: 12 * 3600,
            public_url: None,
            oidc: None,
        }
    }
}

/// When the development sign-in is offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DevSignin {
    /// On when neither an OIDC sign-in nor a `public_url` is configured
    /// and the service listens on a loopback address only (the embedded
    /// default on a laptop).
    Auto,
    /// Always on (marked on every page; never in production).
    On,
    /// Never.
    Off,
}

/// The `[console.oidc]` table: the console as an OIDC client of the trust
/// store's provider (the trust store's `[oidc]` issuer, audience and JWKS
/// verify the ID token; the audience must be this `client_id`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSignin {
    /// The client id registered with the provider.
    pub client_id: String,
    /// The environment variable holding the client secret, for
    /// confidential clients (sent with HTTP Basic to the token endpoint).
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// The provider's authorization endpoint; without it, read from
    /// `<issuer>/.well-known/openid-configuration`.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// The provider's token endpoint; without it, from discovery.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// The scopes asked for (`openid` is always among them).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The longest one call to the provider (discovery, token endpoint)
    /// may take, in milliseconds. A callback may make two, and the whole
    /// answer must fit in `[limits] request_timeout_ms`.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    4_000
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}

impl ConsoleConfig {
    /// Refuses settings the console cannot run with.
    pub fn check(&self) -> Result<(), String> {
        if self.session_ttl_seconds < 60 || self.session_ttl_seconds > 30 * 24 * 3600 {
            return Err(
                "[console] session_ttl_seconds must be between 60 and 2592000 (30 days)".into(),
            );
        }
        if let Some(url) = &self.public_url
            && !is_browser_origin(url)
        {
            return Err(format!(
                "[console] public_url `{url}` must be an origin as browsers send it, such as \
                 https://gate.example.com: http(s), a lower-case (punycode) host, a port only \
                 when not the scheme's default, no path, query or user"
            ));
        }
        if let Some(oidc) = &self.oidc {
            if oidc.client_id.trim().is_empty() {
                return Err("[console.oidc] client_id must not be empty".into());
            }
            // The redirect URI is `<public_url>/console/callback`: without
            // it there is no address to register with the provider.
            if self.enabled && self.public_url.is_none() {
                return Err(
                    "[console.oidc] needs [console] public_url, the address reviewers \
                     reach the console at (the redirect URI is <public_url>/console/callback)"
                        .into(),
                );
            }
            if !(100..=60_000).contains(&oidc.timeout_ms) {
                return Err("[console.oidc] timeout_ms must be between 100 and 60000".into());
            }
        }
        Ok(())
    }

    /// Whether the development sign-in is offered by a service listening
    /// on `listen`.
    pub fn dev_signin_enabled(&self, listen: &std::net::SocketAddr) -> bool {
        match self.dev_signin {
            DevSignin::On => true,
            DevSignin::Off => false,
            // A `public_url` says reviewers reach the console through some
            // address other than this machine's loopback (a reverse proxy,
            // which may forward no header that would give it away): the
            // password-less sign-in is then never on by default.
            DevSignin::Auto => {
                self.oidc.is_none() && self.public_url.is_none() && listen.ip().is_loopback()
            }
        }
    }

    /// The origin form posts must come from, when configured.
    pub fn origin(&self) -> Option<&str> {
        self.public_url.as_deref().map(|u| u.trim_end_matches('/'))
    }
}

/// Whether `url` (a trailing `/` allowed) is an origin exactly as a
/// browser serializes it in `Origin`: form posts are compared with it
/// byte for byte, so `https://Gate.example.com`, `https://gate:443` or
/// `https://gate/console` would refuse every post as cross-site (and a
/// path would also move the OIDC redirect URI).
fn is_browser_origin(url: &str) -> bool {
    let (authority, default_port) =
        match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
            (Some(rest), _) => (rest, ":443"),
            (None, Some(rest)) => (rest, ":80"),
            (None, None) => return false,
        };
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    !authority.is_empty()
        && authority.len() <= 512
        && !authority.starts_with(':')
        && !authority.ends_with(':')
        && !authority.ends_with(default_port)
        && authority
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:[]".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::is_browser_origin;

    #[test]
    fn public_url_is_an_origin_as_browsers_send_it() {
        for good in [
            "https://gate.example.com",
            "https://gate.example.com/",
            "http://127.0.0.1:8080",
            "https://[::1]:8443",
            "https://xn--bcher-kva.example",
        ] {
            assert!(is_browser_origin(good), "{good}");
        }
        for bad in [
            "https://Gate.example.com",
            "https://gate.example.com:443",
            "http://gate.example.com:80/",
            "https://gate.example.com/console",
            "https://user@gate.example.com",
            "https://gate.example.com?x",
            "https://",
            "https://:8443",
            "ftp://gate.example.com",
            "https://bücher.example",
        ] {
            assert!(!is_browser_origin(bad), "{bad}");
        }
    }
}
