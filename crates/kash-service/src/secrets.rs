//! Secrets: the pepper that keys API-key hashes, the AEAD key that seals webhook secrets and
//! pending confirmation tokens, and the generators of every random credential.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::XChaCha20Poly1305;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use kash_core::apikey::{Environment, KEY_SECRET_LEN};
use rand::distributions::{Alphanumeric, DistString};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{ConfigError, Settings};

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `message` under `key`, lowercase hex.
pub fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    hex::encode(hmac_bytes(key, message))
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_bytes(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Constant-time equality for secrets and their digests.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Hashes API keys under the current pepper, and during a rotation also under the previous
/// one until its grace deadline.
#[derive(Clone)]
pub struct KeyHasher {
    current: Vec<u8>,
    previous: Option<(Vec<u8>, DateTime<Utc>)>,
}

impl std::fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHasher([redacted])")
    }
}

impl KeyHasher {
    pub fn new(current: &str, previous: Option<(&str, DateTime<Utc>)>) -> Self {
        KeyHasher {
            current: current.as_bytes().to_vec(),
            previous: previous.map(|(p, until)| (p.as_bytes().to_vec(), until)),
        }
    }

    /// The stored form of a key under the current pepper.
    pub fn hash(&self, key: &str) -> String {
        hmac_hex(&self.current, key.as_bytes())
    }

    /// The hash under the previous pepper, while its grace period lasts.
    pub fn previous_hash(&self, key: &str, now: DateTime<Utc>) -> Option<String> {
        match &self.previous {
            Some((pepper, until)) if now < *until => Some(hmac_hex(pepper, key.as_bytes())),
            _ => None,
        }
    }
}

/// Seals small secrets (webhook secrets, pending confirmation tokens) for storage.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([redacted])")
    }
}

const SEALED_PREFIX: &str = "v1:";

/// A sealed value that did not open: tampered, or sealed under another key.
#[derive(Debug, thiserror::Error)]
#[error("sealed secret cannot be opened (wrong KASH_SECRETS_KEY or corrupt value)")]
pub struct OpenError;

impl SecretBox {
    /// Derives the 256-bit AEAD key from the configured secret, whatever its length.
    pub fn new(secret: &str) -> Self {
        let key: [u8; 32] = Sha256::new()
            .chain_update(b"kash:secrets-key:v1:")
            .chain_update(secret.as_bytes())
            .finalize()
            .into();
        SecretBox {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encryption only fails for inputs beyond the cipher's length limit (~256 GiB).
        let sealed = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn open(&self, sealed: &str) -> Result<String, OpenError> {
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or(OpenError)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError)?;
        if bytes.len() < 24 {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(nonce.into(), ciphertext)
            .map_err(|_| OpenError)?;
        String::from_utf8(plain).map_err(|_| OpenError)
    }
}

/// A fresh API key, `kash_<env>_` + 32 base62 characters from the OS-seeded CSPRNG.
pub fn generate_api_key(env: Environment) -> String {
    let secret = Alphanumeric.sample_string(&mut rand::thread_rng(), KEY_SECRET_LEN);
    format!("{}{secret}", env.key_prefix())
}

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh webhook signing secret, `whsec_<base64url of 32 random bytes>`.
pub fn generate_webhook_secret() -> String {
    format!("whsec_{}", random_token())
}

/// The secrets a process needs, resolved from settings: configured values win; in `test` a
/// missing value is generated once and kept in the data directory (with a warning), in `live`
/// it is an error.
#[derive(Clone, Debug)]
pub struct Secrets {
    pub hasher: KeyHasher,
    pub secret_box: SecretBox,
    /// Keys the MAC of pagination cursors (derived from the secrets key).
    pub cursor_key: [u8; 32],
    /// Keys the console's CSRF tokens, which are derived from the session id.
    pub csrf_key: [u8; 32],
    /// Keys the HMAC under which high-value confirmation tokens are kept at rest.
    pub confirm_key: [u8; 32],
}

impl Secrets {
    pub fn resolve(settings: &Settings) -> Result<Secrets, ConfigError> {
        let pepper = resolve_one(
            settings,
            settings.pepper.as_deref(),
            "KASH_PEPPER",
            "pepper",
        )?;
        let secrets_key = resolve_one(
            settings,
            settings.secrets_key.as_deref(),
            "KASH_SECRETS_KEY",
            "secrets.key",
        )?;
        let previous = match (&settings.pepper_previous, settings.pepper_previous_until) {
            (Some(p), Some(until)) => Some((p.as_str(), until)),
            _ => None,
        };
        Ok(Secrets {
            hasher: KeyHasher::new(&pepper, previous),
            secret_box: SecretBox::new(&secrets_key),
            cursor_key: hmac_bytes(secrets_key.as_bytes(), b"kash:cursor-mac:v1"),
            csrf_key: hmac_bytes(secrets_key.as_bytes(), b"kash:console-csrf:v1"),
            confirm_key: hmac_bytes(secrets_key.as_bytes(), b"kash:confirm-token:v1"),
        })
    }
}

const MIN_SECRET_LEN: usize = 32;

fn resolve_one(
    settings: &Settings,
    configured: Option<&str>,
    env_name: &str,
    file_name: &str,
) -> Result<String, ConfigError> {
    if let Some(value) = configured {
        if settings.environment == Environment::Live && value.len() < MIN_SECRET_LEN {
            return Err(ConfigError(format!(
                "{env_name} must be at least {MIN_SECRET_LEN} characters in live"
            )));
        }
        return Ok(value.to_string());
    }
    if settings.environment == Environment::Live {
        return Err(ConfigError(format!("{env_name} is required in live")));
    }
    let path = settings.data_dir.join(file_name);
    load_or_generate(&path).map_err(|e| {
        ConfigError(format!(
            "{env_name} is not set and {} cannot be used: {e}",
            path.display()
        ))
    })
}

fn load_or_generate(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(existing) if !existing.trim().is_empty() => return Ok(existing.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let value = random_token();
    write_private(path, &value)?;
    tracing::warn!(
        path = %path.display(),
        "generated a test secret and kept it in the data directory; set it explicitly outside test"
    );
    Ok(value)
}

#[cfg(unix)]
fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // create_new: two processes starting together must not overwrite each other's secret.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut file) => file.write_all(value.as_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    std::fs::write(path, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigArgs, Settings};

    #[test]
    fn keys_have_the_published_shape() {
        let key = generate_api_key(Environment::Live);
        assert_eq!(
            kash_core::apikey::key_environment(&key),
            Some(Environment::Live)
        );
        assert_ne!(key, generate_api_key(Environment::Live));
        let secret = generate_webhook_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(secret.len(), 6 + 43);
    }

    #[test]
    fn pepper_grace() {
        let now = Utc::now();
        let hasher = KeyHasher::new("new", Some(("old", now + chrono::Duration::hours(1))));
        assert_ne!(hasher.hash("k"), hasher.previous_hash("k", now).unwrap());
        assert_eq!(
            hasher.previous_hash("k", now + chrono::Duration::hours(2)),
            None
        );
    }

    #[test]
    fn sealing_round_trips_and_detects_tampering() {
        let boxed = SecretBox::new("key one");
        let sealed = boxed.seal("whsec_abc");
        assert_eq!(boxed.open(&sealed).unwrap(), "whsec_abc");
        assert!(SecretBox::new("key two").open(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(boxed.open(&tampered).is_err());
    }

    #[test]
    fn test_secrets_are_generated_once_and_live_requires_them() {
        let dir = tempfile::tempdir().unwrap();
        let args = ConfigArgs {
            data_dir: Some(dir.path().to_path_buf()),
            ..ConfigArgs::default()
        };
        let settings = Settings::resolve(&args).unwrap();
        let first = Secrets::resolve(&settings).unwrap();
        let second = Secrets::resolve(&settings).unwrap();
        assert_eq!(first.hasher.hash("k"), second.hasher.hash("k"));
        let live = Settings::resolve(&ConfigArgs {
            environment: Some("live".into()),
            ..args
        })
        .unwrap();
        assert!(Secrets::resolve(&live).is_err());
    }
}
