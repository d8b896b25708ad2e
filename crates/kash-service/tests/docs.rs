//! The README and the configuration reference must stay true to the code.

use std::collections::BTreeSet;
use std::path::Path;

use clap::{Args, Command};
use kash_service::config::ConfigArgs;

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path),
    )
    .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn setting_envs() -> BTreeSet<String> {
    ConfigArgs::augment_args(Command::new("settings"))
        .get_arguments()
        .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().to_string()))
        .collect()
}

fn mentioned_envs(text: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"KASH_[A-Z_]+").unwrap();
    re.find_iter(text).map(|m| m.as_str().to_string()).collect()
}

/// Variables that are not settings of `ConfigArgs` but are real: the server's role, the log
/// filter, and the test suite's service locations.
const OTHER_ENVS: &[&str] = &[
    "KASH_ROLE",
    "KASH_LOG",
    "KASH_TEST_POSTGRES_URL",
    "KASH_TEST_REDIS_URL",
];

#[test]
fn every_setting_is_documented_and_every_documented_variable_exists() {
    let settings = setting_envs();
    assert!(settings.len() >= 20, "{settings:?}");
    let reference = repo_file("docs/configuration.md");
    for env in &settings {
        assert!(
            reference.contains(&format!("`{env}`")),
            "{env} is not in docs/configuration.md"
        );
    }
    for doc in [
        "README.md",
        "docs/configuration.md",
        "docs/operations.md",
        "docs/decisions.md",
    ] {
        for env in mentioned_envs(&repo_file(doc)) {
            assert!(
                settings.contains(&env) || OTHER_ENVS.contains(&env.as_str()),
                "{doc} mentions {env}, which does not exist"
            );
        }
    }
}

#[test]
fn the_readme_commands_are_the_real_ones() {
    let readme = repo_file("README.md");
    assert!(readme.contains("cargo run -p kash-server -- --demo"));
    assert!(readme.contains("./scripts/test"));
    let script = repo_file("scripts/test");
    assert!(script.contains("cargo test --workspace"));
    let ci = repo_file(".ci/run");
    assert!(
        ci.contains("./scripts/test"),
        ".ci/run must run the README's test command"
    );
    // Every doc the README links to exists.
    let links = regex::Regex::new(r"\]\(((?:docs|crates)/[^)#]+)\)").unwrap();
    for link in links.captures_iter(&readme) {
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(&link[1])
                .exists(),
            "README links to a missing {}",
            &link[1]
        );
    }
}
