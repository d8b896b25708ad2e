//! The error catalogue has one source of truth in code (`kash_core::ErrorCode`); this test keeps
//! the docs and the code that emits errors honest against it:
//! - `docs/errors/` has exactly one page per code, with the code's status and title;
//! - every code except the two kept only for compatibility is emitted somewhere in the server's
//!   sources, and those two are emitted nowhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kash_core::ErrorCode;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_code_has_a_page_and_every_page_a_code() {
    let dir = workspace().join("docs/errors");
    let pages: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|name| name.ends_with(".md") && name != "README.md")
        .map(|name| name.trim_end_matches(".md").to_string())
        .collect();
    let codes: BTreeSet<String> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    assert_eq!(pages, codes, "docs/errors and ErrorCode::ALL differ");
    let index = std::fs::read_to_string(dir.join("README.md")).unwrap();
    for code in ErrorCode::ALL {
        let page = std::fs::read_to_string(dir.join(format!("{code}.md"))).unwrap();
        assert!(page.starts_with(&format!("# {code}\n")), "{code}: heading");
        assert!(
            page.contains(&format!("- **Status:** {}\n", code.status())),
            "{code}: status"
        );
        assert!(
            page.contains(&format!("- **Title:** {}\n", code.title())),
            "{code}: title"
        );
        assert_eq!(
            page.contains("- **Emitted:** never"),
            code.never_emitted(),
            "{code}: never-emitted marker"
        );
        assert!(
            index.contains(&format!(
                "[`{code}`]({code}.md) | {} | {}",
                code.status(),
                code.title()
            )),
            "{code}: index row"
        );
    }
}

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The variant name of each code as written in source (`ErrorCode::ApiKeyMissing`).
fn variant(code: ErrorCode) -> String {
    format!("{code:?}")
}

#[test]
fn emitted_codes_equal_documented_codes() {
    let mut files = Vec::new();
    for krate in ["kash-core", "kash-store", "kash-service", "kash-server"] {
        rust_sources(
            &workspace().join("crates").join(krate).join("src"),
            &mut files,
        );
    }
    let catalogue = workspace().join("crates/kash-core/src/error.rs");
    let mut text = String::new();
    for file in files
        .iter()
        .filter(|f| f.canonicalize().ok() != catalogue.canonicalize().ok())
    {
        text.push_str(&std::fs::read_to_string(file).unwrap());
        text.push('\n');
    }
    let emitted: BTreeSet<&str> = ErrorCode::ALL
        .iter()
        .filter(|c| text.contains(&format!("ErrorCode::{}", variant(**c))))
        .map(|c| c.as_str())
        .collect();
    let expected: BTreeSet<&str> = ErrorCode::ALL
        .iter()
        .filter(|c| !c.never_emitted())
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        emitted, expected,
        "codes emitted by the server's sources differ from the documented, emittable codes"
    );
}
