//! Our static assets (CSS and JS of the console, the portal and the iframes), served by us
//! under content-hashed names with a year-long immutable cache: a new build changes the name,
//! so a browser never runs stale CSS or JS, and no page needs another host.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Every asset: its plain file name (what pages ask for) and its body.
const FILES: &[(&str, &str)] = &[
    ("console.css", include_str!("assets/console.css")),
    ("console.js", include_str!("assets/console.js")),
];

struct Asset {
    file: &'static str,
    hashed: String,
    body: &'static str,
    content_type: &'static str,
}

fn assets() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        FILES
            .iter()
            .map(|&(file, body)| {
                let digest = hex::encode(Sha256::digest(body.as_bytes()));
                let (stem, ext) = file.rsplit_once('.').unwrap_or((file, ""));
                Asset {
                    file,
                    hashed: format!("{stem}.{}.{ext}", &digest[..12]),
                    body,
                    content_type: match ext {
                        "css" => "text/css; charset=utf-8",
                        "js" => "text/javascript; charset=utf-8",
                        _ => "application/octet-stream",
                    },
                }
            })
            .collect()
    })
}

/// `/assets/<stem>.<hash>.<ext>` of a file in [`FILES`]; an unknown name is a programming error
/// caught by the unit test below, and yields a path that answers 404 rather than a panic.
pub fn path(file: &str) -> String {
    match assets().iter().find(|a| a.file == file) {
        Some(a) => format!("/assets/{}", a.hashed),
        None => format!("/assets/{file}"),
    }
}

/// The asset's body, for pages that inline it (the iframes keep their first render to one
/// request).
pub fn body(file: &str) -> &'static str {
    assets()
        .iter()
        .find(|a| a.file == file)
        .map_or("", |a| a.body)
}

/// `/assets/console.<hash>.css`
pub fn css_path() -> String {
    path("console.css")
}

/// `/assets/console.<hash>.js`
pub fn js_path() -> String {
    path("console.js")
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match assets().iter().find(|a| a.hashed == name) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_gets_a_hashed_name() {
        for &(file, _) in FILES {
            let p = path(file);
            assert_ne!(p, format!("/assets/{file}"), "{file}");
            assert!(!body(file).is_empty(), "{file}");
        }
    }
}
