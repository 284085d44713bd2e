//! A minimal HTTP/1.1 keep-alive client over a blocking `TcpStream`: one
//! POST at a time on one connection, `Content-Length` or chunked answers.
//! Hand-written so the load generator costs as little as wrk's per request
//! and needs no async runtime; it is for localhost benchmarks only (no TLS,
//! no redirects, bounded answer size).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// The largest answer read (every answer here is a few kilobytes).
const MAX_BODY: usize = 4 << 20;

/// `http://host:port`.
#[derive(Clone, Debug)]
pub struct Url {
    pub authority: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, String> {
        let rest = text
            .strip_prefix("http://")
            .ok_or_else(|| format!("{text}: only http:// URLs"))?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(format!("{text}: give http://host:port"));
        }
        Ok(Url {
            authority: authority.to_owned(),
        })
    }
}

/// One keep-alive connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
    fresh: bool,
}

impl Conn {
    pub fn open(url: &Url) -> Result<Conn, String> {
        let stream = TcpStream::connect(&url.authority).map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn {
            reader: BufReader::with_capacity(64 * 1024, stream),
            request: Vec::with_capacity(4096),
            fresh: true,
        })
    }

    /// POSTs a JSON body; the status and the answer's text. A connection
    /// the server closed while idle is opened again once.
    pub fn post(
        &mut self,
        url: &Url,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> Result<(u16, String), String> {
        match self.exchange(url, path, token, body) {
            Err(Retry::Closed) if !self.fresh => {
                *self = Conn::open(url)?;
                self.exchange(url, path, token, body)
                    .map_err(Retry::message)
            }
            other => other.map_err(Retry::message),
        }
    }

    fn exchange(
        &mut self,
        url: &Url,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> Result<(u16, String), Retry> {
        self.request.clear();
        let r = &mut self.request;
        let _ = write!(
            r,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n",
            url.authority
        );
        if let Some(t) = token {
            let _ = write!(r, "Authorization: Bearer {t}\r\n");
        }
        let _ = write!(r, "Content-Length: {}\r\n\r\n", body.len());
        r.extend_from_slice(body.as_bytes());
        if self.reader.get_mut().write_all(&self.request).is_err() {
            return Err(Retry::Closed);
        }
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => return Err(Retry::Closed),
            Ok(_) => {}
        }
        self.fresh = false;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Retry::Failed(format!("bad status line {line:?}")))?;
        let mut length = None;
        let mut chunked = false;
        let mut close = false;
        loop {
            line.clear();
            self.reader.read_line(&mut line).map_err(fail)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().map_err(fail)?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
        let mut answer = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line).map_err(fail)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(fail)?;
                if answer.len() + size > MAX_BODY {
                    return Err(Retry::Failed("answer too large".into()));
                }
                let at = answer.len();
                answer.resize(at + size, 0);
                self.reader.read_exact(&mut answer[at..]).map_err(fail)?;
                line.clear();
                self.reader.read_line(&mut line).map_err(fail)?;
                if size == 0 {
                    break;
                }
            }
        } else {
            let n = length.ok_or_else(|| Retry::Failed("no Content-Length".into()))?;
            if n > MAX_BODY {
                return Err(Retry::Failed("answer too large".into()));
            }
            answer.resize(n, 0);
            self.reader.read_exact(&mut answer).map_err(fail)?;
        }
        let text = String::from_utf8(answer).map_err(fail)?;
        if close {
            *self = Conn::open(url).map_err(Retry::Failed)?;
        }
        Ok((status, text))
    }
}

enum Retry {
    /// The server had closed the connection before answering.
    Closed,
    Failed(String),
}

impl Retry {
    fn message(self) -> String {
        match self {
            Retry::Closed => "the server closed the connection".into(),
            Retry::Failed(m) => m,
        }
    }
}

fn fail(e: impl std::fmt::Display) -> Retry {
    Retry::Failed(e.to_string())
}
