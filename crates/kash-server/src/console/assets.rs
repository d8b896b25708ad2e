//! The console's static assets, served by us under content-hashed names with a year-long
//! immutable cache: a new build changes the name, so a browser never runs stale CSS or JS.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

struct Asset {
    name: String,
    body: &'static str,
    content_type: &'static str,
}

fn hashed(stem: &str, ext: &str, body: &'static str, content_type: &'static str) -> Asset {
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    Asset {
        name: format!("{stem}.{}.{ext}", &digest[..12]),
        body,
        content_type,
    }
}

fn assets() -> &'static [Asset; 2] {
    static ASSETS: OnceLock<[Asset; 2]> = OnceLock::new();
    ASSETS.get_or_init(|| {
        [
            hashed("console", "css", CSS, "text/css; charset=utf-8"),
            hashed("console", "js", JS, "text/javascript; charset=utf-8"),
        ]
    })
}

/// `/assets/console.<hash>.css`
pub fn css_path() -> String {
    format!("/assets/{}", assets()[0].name)
}

/// `/assets/console.<hash>.js`
pub fn js_path() -> String {
    format!("/assets/{}", assets()[1].name)
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match assets().iter().find(|a| a.name == name) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            asset.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
