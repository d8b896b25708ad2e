//! A console client for HTTP-level tests: keeps the session cookie, reads the CSRF token from
//! pages, and sends same-origin `Origin` headers the way a browser does.

use reqwest::header::{HeaderMap, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use crate::TestApp;

pub struct ConsoleClient {
    pub http: reqwest::Client,
    pub base: String,
    /// `name=value` of the session cookie, once signed in.
    pub cookie: Option<String>,
    /// The origin sent on state changes (the app's own, unless a test changes it).
    pub origin: String,
    pub csrf: Option<String>,
}

/// A parsed `Set-Cookie` for the session.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub raw: String,
    pub name: String,
    pub value: String,
}

impl SetCookie {
    pub fn has_attr(&self, attr: &str) -> bool {
        self.raw
            .split(';')
            .map(|p| p.trim().to_ascii_lowercase())
            .any(|p| p == attr.to_ascii_lowercase())
    }

    pub fn attr(&self, name: &str) -> Option<String> {
        self.raw.split(';').skip(1).find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            k.eq_ignore_ascii_case(name).then(|| v.to_string())
        })
    }
}

pub fn session_cookie(headers: &HeaderMap) -> Option<SetCookie> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("kash_session="))
        .and_then(|raw| {
            let (pair, _) = raw.split_once(';').unwrap_or((raw, ""));
            let (name, value) = pair.split_once('=')?;
            Some(SetCookie {
                raw: raw.to_string(),
                name: name.trim().to_string(),
                value: value.trim().to_string(),
            })
        })
}

/// The CSRF token of a page (the hidden `_csrf` field).
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_string())
}

impl ConsoleClient {
    pub fn new(app: &TestApp) -> Self {
        ConsoleClient {
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            base: app.base.clone(),
            cookie: None,
            origin: app.base.clone(),
            csrf: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn with_cookie(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => req.header(COOKIE, c),
            None => req,
        }
    }

    /// Posts the sign-in form; on success keeps the cookie and the CSRF token.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Response {
        let resp = self
            .with_cookie(self.http.post(self.url("/signin")))
            .header(ORIGIN, &self.origin)
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .expect("sign in");
        if let Some(c) = session_cookie(resp.headers()) {
            if resp.status() == StatusCode::SEE_OTHER && !c.value.is_empty() {
                self.cookie = Some(format!("{}={}", c.name, c.value));
                self.refresh_csrf().await;
            }
        }
        resp
    }

    /// Reads a fresh CSRF token from the keys page.
    pub async fn refresh_csrf(&mut self) {
        let page = self.page("/settings/api-keys").await;
        self.csrf = csrf_in(&page.text().await.unwrap_or_default());
    }

    pub async fn page(&self, path: &str) -> Response {
        self.with_cookie(self.http.get(self.url(path)))
            .send()
            .await
            .expect("page")
    }

    /// Posts a form with the session cookie, the app's `Origin` and (unless `fields` has its
    /// own) the CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        if !fields.iter().any(|(k, _)| *k == "_csrf") {
            if let Some(t) = &self.csrf {
                all.push(("_csrf", t));
            }
        }
        self.with_cookie(self.http.post(self.url(path)))
            .header(ORIGIN, &self.origin)
            .form(&all)
            .send()
            .await
            .expect("form post")
    }

    /// A JSON request to `/api/account/*` with cookie, origin and CSRF header.
    pub async fn json(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut req = self
            .with_cookie(self.http.request(method, self.url(path)))
            .header(ORIGIN, &self.origin);
        if let Some(t) = &self.csrf {
            req = req.header("X-CSRF-Token", t);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("json request")
    }
}
