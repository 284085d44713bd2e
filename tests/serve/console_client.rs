//! A console client for tests over plain HTTP (no browser): signs in with
//! the development sign-in, keeps the session cookie by hand (no redirects
//! followed, so every 303 and `Set-Cookie` is visible), and reads the CSRF
//! token off the pages. The browser tests (console_e2e*) drive the same
//! pages in Chromium.

use std::time::Duration;

use crate::harness::Server;

/// One signed-in (or not yet signed-in) browser-like client.
pub struct Console {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    http: reqwest::blocking::Client,
    /// The session cookie's value, once signed in.
    pub session: Option<String>,
    /// The `Origin` form posts are sent with (the base, unless the service
    /// has a `public_url`).
    pub origin: String,
}

/// An answer: status, headers, body text.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Page {
    /// The `Location` header of a redirect.
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The value a `Set-Cookie` gives `name` (`Some("")` when it clears it).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }

    /// The value of the first `name="_csrf"` hidden field on the page.
    pub fn csrf(&self) -> Option<String> {
        hidden_field(&self.text, "_csrf")
    }

    /// The text of the element with this id (tags stripped), when present.
    pub fn text_of(&self, id: &str) -> Option<String> {
        let start = self.text.find(&format!("id=\"{id}\""))?;
        let open_end = start + self.text[start..].find('>')? + 1;
        let rest = &self.text[open_end..];
        let mut depth = 0usize;
        let mut out = String::new();
        let mut i = 0;
        let bytes = rest.as_bytes();
        while i < bytes.len() {
            if bytes[i] == b'<' {
                let end = i + rest[i..].find('>')?;
                let tag = &rest[i + 1..end];
                if tag.starts_with('/') {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                } else if !tag.ends_with('/') && !is_void(tag) {
                    depth += 1;
                }
                i = end + 1;
            } else {
                let next = rest[i..].find('<').map_or(rest.len(), |n| i + n);
                out.push_str(&rest[i..next]);
                i = next;
            }
        }
        Some(out)
    }
}

fn is_void(tag: &str) -> bool {
    let name = tag.split_whitespace().next().unwrap_or("");
    ["input", "br", "meta", "link", "img", "hr"].contains(&name)
}

/// The value of a hidden input named `name`.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

impl Console {
    /// A client with no session.
    pub fn new(server: &Server) -> Console {
        Console {
            base: server.base.clone(),
            http: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            session: None,
            origin: server.base.clone(),
        }
    }

    /// Signs in as `identity` with the development sign-in (asserting it
    /// works: 303 with a session cookie).
    pub fn signed_in(server: &Server, identity: &str) -> Console {
        let mut c = Console::new(server);
        let page = c.get("/console/signin");
        assert_eq!(page.status, 200, "{}", page.text);
        let pre = page
            .cookie("__Host-gatehouse_pre")
            .expect("pre-session cookie");
        let answer = c.send(
            c.http
                .post(format!("{}/console/signin/dev", c.base))
                .header("cookie", format!("__Host-gatehouse_pre={pre}"))
                .header("origin", &c.base)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(&[
                    ("_csrf", &pre),
                    ("identity", identity),
                    ("next", "/console/"),
                ])),
        );
        assert_eq!(answer.status, 303, "{}", answer.text);
        let session = answer
            .cookie("__Host-gatehouse_session")
            .filter(|s| !s.is_empty())
            .expect("a session cookie");
        c.session = Some(session);
        c
    }

    /// Sends a request, with the session cookie when there is one.
    pub fn send(&self, r: reqwest::blocking::RequestBuilder) -> Page {
        let r = match &self.session {
            Some(s) => r.header("cookie", format!("__Host-gatehouse_session={s}")),
            None => r,
        };
        let response = r.send().expect("the server answers");
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().expect("body"),
        }
    }

    /// A request builder for a path (no redirects followed; the session
    /// cookie is added by [`Console::send`]).
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::blocking::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// GETs a path.
    pub fn get(&self, path: &str) -> Page {
        self.send(self.http.get(format!("{}{path}", self.base)))
    }

    /// POSTs a form as a same-origin browser would (Origin header set),
    /// fields as given (add `_csrf` yourself, or use [`Console::submit`]).
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("origin", &self.origin)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(fields)),
        )
    }

    /// POSTs a form with the CSRF token read off `from` (a page path).
    pub fn submit(&self, from: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(from);
        let token = page.csrf().expect("the page has a form with a CSRF token");
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_form(path, &all)
    }
}

/// An urlencoded form body.
pub fn form(fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}
