//! Runs the Python and TypeScript verification examples of `docs/webhooks.md` (python3 and
//! node are required) against the same vectors as the Rust verifier, and checks they agree.
//! The Rust example is a doctest of this crate.

use std::process::{Command, Stdio};

use kash_client::webhooks::{sign, verify};
use serde_json::{json, Value};

const GUIDE: &str = include_str!("../../../docs/webhooks.md");

/// The body of the first fenced block tagged `lang`.
fn block(lang: &str) -> String {
    let open = format!("```{lang}\n");
    let start = GUIDE
        .find(&open)
        .map(|i| i + open.len())
        .expect("example present");
    let end = GUIDE[start..].find("```").expect("closed block") + start;
    GUIDE[start..end].to_string()
}

struct Case {
    header: String,
    body: Vec<u8>,
    secrets: Vec<String>,
    now: i64,
}

fn cases() -> Vec<Case> {
    let now = 1_777_725_596_789;
    let body = br#"{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","type":"trade.completed","data":{"amount":"12.5"}}"#.to_vec();
    let dual = sign(&["whsec_new", "whsec_old"], now, &body);
    let mk = |header: String, body: &[u8], secrets: &[&str], now: i64| Case {
        header,
        body: body.to_vec(),
        secrets: secrets.iter().map(|s| s.to_string()).collect(),
        now,
    };
    vec![
        mk(sign(&["whsec_new"], now, &body), &body, &["whsec_new"], now),
        mk(dual.clone(), &body, &["whsec_old"], now),
        mk(dual.clone(), &body, &["whsec_new"], now),
        mk(
            dual.clone(),
            &body,
            &["whsec_x", "whsec_old"],
            now + 299_000,
        ),
        mk(dual.clone(), &body, &["whsec_x"], now),
        mk(dual.clone(), b"{\"id\":\"tampered\"}", &["whsec_new"], now),
        mk(dual.clone(), &body, &["whsec_new"], now + 300_001),
        mk(dual.clone(), &body, &["whsec_new"], now - 300_001),
        mk("t=abc,v1=00".into(), &body, &["whsec_new"], now),
        mk(format!("t={now}"), &body, &["whsec_new"], now),
        mk("garbage".into(), &body, &["whsec_new"], now),
        mk(dual.replace("v1=", "v0="), &body, &["whsec_new"], now),
        mk(sign(&["whsec_new"], now, b""), b"", &["whsec_new"], now),
    ]
}

fn expected(cases: &[Case]) -> Vec<bool> {
    cases
        .iter()
        .map(|c| {
            let secrets: Vec<&str> = c.secrets.iter().map(String::as_str).collect();
            verify(&c.header, &c.body, &secrets, c.now).is_ok()
        })
        .collect()
}

fn write_cases(cases: &[Case]) -> tempfile::NamedTempFile {
    let doc: Vec<Value> = cases
        .iter()
        .map(|c| json!({"header": c.header, "body": hex::encode(&c.body), "secrets": c.secrets, "now": c.now}))
        .collect();
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), serde_json::to_vec(&doc).expect("json")).expect("write");
    file
}

fn run(program: &str, args: &[&str], cases_path: &std::path::Path) -> Vec<bool> {
    let out = Command::new(program)
        .args(args)
        .env("KASH_CASES", cases_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("{program} is required by this test: {e}"));
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("verdicts")
}

#[test]
fn python_example_agrees_with_the_rust_verifier() {
    let cases = cases();
    let want = expected(&cases);
    assert_eq!(
        want.iter().filter(|v| **v).count(),
        5,
        "vectors cover both outcomes"
    );
    let file = write_cases(&cases);
    let program = format!(
        "{}\nimport json, os\ncases = json.load(open(os.environ['KASH_CASES']))\n\
         print(json.dumps([verify_signature(c['header'], bytes.fromhex(c['body']), c['secrets'], c['now']) for c in cases]))\n",
        block("python")
    );
    assert_eq!(run("python3", &["-c", &program], file.path()), want);
}

/// Node 20 cannot run TypeScript itself, so the example's type annotations (plain `: T`,
/// `: T[]`, `: T | undefined` forms only — keep the example to those) are stripped first; the
/// code that runs is otherwise the documented text.
#[test]
fn typescript_example_agrees_with_the_rust_verifier() {
    let cases = cases();
    let want = expected(&cases);
    let file = write_cases(&cases);
    let ts = block("ts");
    let strip = regex::Regex::new(r":\s*(string|number|boolean|Buffer)(\[\])?(\s*\|\s*undefined)?")
        .expect("regex");
    let js = strip.replace_all(&ts, "").to_string();
    assert!(!js.contains(": string") && js.contains("verifySignature"));
    let program = format!(
        "{js}\nimport {{ readFileSync }} from \"node:fs\";\n\
         const cases = JSON.parse(readFileSync(process.env.KASH_CASES, \"utf8\"));\n\
         console.log(JSON.stringify(cases.map(c => verifySignature(c.header, Buffer.from(c.body, \"hex\"), c.secrets, c.now))));\n"
    );
    assert_eq!(
        run(
            "node",
            &["--input-type=module", "-e", &program],
            file.path()
        ),
        want
    );
}
