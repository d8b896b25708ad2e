//! Structured logging (`--log-format json`). Anything shaped like an API key is redacted from
//! every line, so a key can never reach a log even through an error message.

use std::io::Write;

use kash_service::config::LogFormat;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Writes to stderr through the key redactor.
#[derive(Clone, Copy, Default)]
pub struct RedactingStderr;

pub struct RedactingWriter {
    buf: Vec<u8>,
}

impl Write for RedactingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buf);
        let redacted = kash_core::apikey::redact_keys(&text);
        self.buf.clear();
        std::io::stderr().write_all(redacted.as_bytes())
    }
}

impl Drop for RedactingWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingWriter;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter { buf: Vec::new() }
    }
}

/// Installs the global subscriber (once; later calls are ignored, as in tests).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("KASH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
