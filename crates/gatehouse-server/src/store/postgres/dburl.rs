//! The database URL: what sqlx may be given, and what may be shown of it
//! (its password never is).

use sqlx::postgres::PgConnectOptions;

use crate::error::GateError;

/// The query parameters sqlx reads from a PostgreSQL URL (its
/// `PgConnectOptions` parser; names are case-sensitive), besides
/// `options[...]`. sqlx logs any other parameter with its value at `warn`
/// and ignores it, so a misspelt `?PASSWORD=` would be a password in the
/// log: [`connect_options`] refuses such a URL instead.
const KNOWN_PARAMETERS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// Query parameters whose values [`redact_url`] shows (none is a secret);
/// every other value is shown as `***`.
const SHOWN_PARAMETERS: &[&str] = &[
    "sslmode", "ssl-mode", "host", "hostaddr", "port", "dbname", "user",
];

fn known_parameter(key: &str) -> bool {
    KNOWN_PARAMETERS.contains(&key) || key.starts_with("options[")
}

/// The connection options `url` gives, or a configuration error that
/// shows the URL redacted. A query parameter sqlx does not know (`PASSWORD`
/// for `password`, `passwd`, ...) is refused: sqlx would log its value and
/// ignore it.
pub fn connect_options(url: &str) -> Result<PgConnectOptions, GateError> {
    if let Ok(parsed) = url::Url::parse(url)
        && let Some((key, _)) = parsed.query_pairs().find(|(k, _)| !known_parameter(k))
    {
        // Neither the name nor the value is shown: a value pasted without
        // `key=` is a name. A name that differs from a known one only by
        // case gets a hint.
        let hint = KNOWN_PARAMETERS
            .iter()
            .find(|known| known.eq_ignore_ascii_case(&key))
            .map(|known| format!(" (write `{known}` in lower case)"))
            .unwrap_or_default();
        return Err(GateError::store(format!(
            "`store.url` ({}) has a query parameter the PostgreSQL driver does not know{hint}; it reads these (case-sensitive): {}; an unknown one is refused rather than ignored",
            redact_url(url),
            KNOWN_PARAMETERS.join(", ")
        )));
    }
    url.parse().map_err(|e: sqlx::Error| {
        GateError::store(format!(
            "`store.url` ({}) is not a PostgreSQL URL sqlx accepts: {}",
            redact_url(url),
            redacted_error(&e)
        ))
    })
}

/// `url` with its password (if any) replaced by `***`: what may appear in
/// an error or a log. A URL that does not parse is not shown at all; in
/// its query only the values of the plain connection parameters
/// (`sslmode`, `host`, `hostaddr`, `port`, `dbname`, `user`) are shown (a
/// password may hide in `?password=`, or in a misspelt name).
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            let pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| {
                    // A name the driver does not know may be a value
                    // pasted without `key=`: hidden too.
                    let name = if known_parameter(&k) {
                        k.as_ref().to_owned()
                    } else {
                        "***".to_owned()
                    };
                    let secret = !SHOWN_PARAMETERS.contains(&&*k);
                    (name, if secret { "***".into() } else { v.into_owned() })
                })
                .collect();
            if !pairs.is_empty() {
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        Err(_) => "(a URL that does not parse)".into(),
    }
}

/// An error's text with anything that looks like a URL's credentials cut
/// (sqlx does not put the URL in its errors; this is a second guard).
pub(crate) fn redacted_error(e: &sqlx::Error) -> String {
    let text = e.to_string();
    match text.find("://") {
        Some(i) => match text[i..].find('@') {
            Some(at) => format!("{}://***{}", &text[..i], &text[i + at..]),
            None => text,
        },
        None => text,
    }
}
