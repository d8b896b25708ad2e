//! Layered configuration (`operations.md`): flags override `KASH_*` environment variables,
//! which override an optional TOML file, which overrides the defaults. The defaults make a
//! fresh checkout run with zero setup.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use ipnet::IpNet;
use kash_core::apikey::Environment;
use kash_core::tier::TierRateLimits;
use serde::{Deserialize, Serialize};

/// A configuration problem: the binaries exit with status 2 on it (a usage error).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The settings both binaries accept, as flags and environment variables. Every field is
/// optional here; [`Settings::resolve`] applies the file and the defaults.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// TOML file with any of the settings below (snake_case keys).
    #[arg(long, env = "KASH_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "KASH_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// `sqlite://path` or `postgres://…`.
    #[arg(long, env = "KASH_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// `live` or `test`.
    #[arg(long, env = "KASH_ENVIRONMENT", global = true)]
    pub environment: Option<String>,
    /// Directory for the SQLite file's default location and generated test secrets.
    #[arg(long, env = "KASH_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    #[arg(long, env = "KASH_PEPPER", global = true, hide_env_values = true)]
    pub pepper: Option<String>,
    #[arg(
        long,
        env = "KASH_PEPPER_PREVIOUS",
        global = true,
        hide_env_values = true
    )]
    pub pepper_previous: Option<String>,
    /// RFC 3339 time until which keys hashed under the previous pepper still work.
    #[arg(long, env = "KASH_PEPPER_PREVIOUS_UNTIL", global = true)]
    pub pepper_previous_until: Option<String>,
    #[arg(long, env = "KASH_SECRETS_KEY", global = true, hide_env_values = true)]
    pub secrets_key: Option<String>,
    #[arg(long, env = "KASH_REDIS_URL", global = true, hide_env_values = true)]
    pub redis_url: Option<String>,
    #[arg(long, env = "KASH_CHAIN_ID", global = true)]
    pub chain_id: Option<u64>,
    #[arg(long, env = "KASH_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    #[arg(long, env = "KASH_AUTO_REDEEM", global = true)]
    pub auto_redeem: Option<bool>,
    /// Comma-separated addresses/CIDRs of proxies whose `X-Forwarded-For` is trusted.
    #[arg(long, env = "KASH_TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: Option<String>,
    #[arg(long, env = "KASH_WEBHOOK_ALLOW_PRIVATE", global = true)]
    pub webhook_allow_private: Option<bool>,
    /// `text` or `json`.
    #[arg(long, env = "KASH_LOG_FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
    #[arg(long, env = "KASH_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,
    /// Credential failures from one IP that trigger a lockout (more than this many).
    #[arg(long, env = "KASH_LOCKOUT_MAX_FAILURES", global = true)]
    pub lockout_max_failures: Option<u32>,
    #[arg(long, env = "KASH_LOCKOUT_WINDOW_SECS", global = true)]
    pub lockout_window_secs: Option<u64>,
    #[arg(long, env = "KASH_LOCKOUT_DURATION_SECS", global = true)]
    pub lockout_duration_secs: Option<u64>,
    /// Requests/min of `enterprise` keys (operator-set tier).
    #[arg(long, env = "KASH_RATE_LIMIT_ENTERPRISE", global = true)]
    pub rate_limit_enterprise: Option<u32>,
    /// Requests/min of `mm` keys (operator-set tier).
    #[arg(long, env = "KASH_RATE_LIMIT_MM", global = true)]
    pub rate_limit_mm: Option<u32>,
    /// Platform-wide per-trade ceiling in whole USDC.
    #[arg(long, env = "KASH_MAX_TRADE_USDC", global = true)]
    pub max_trade_usdc: Option<u64>,
    /// Base of the problem `type` URLs.
    #[arg(long, env = "KASH_ERROR_DOCS_URL", global = true)]
    pub error_docs_url: Option<String>,
    /// Hours after `resolveAt` before anyone may cancel an unresolved market.
    #[arg(long, env = "KASH_CANCEL_GRACE_HOURS", global = true)]
    pub cancel_grace_hours: Option<u64>,
    /// Console sign-up: `open` lets anyone create an account; `closed` (default) leaves it to
    /// the operator.
    #[arg(long, env = "KASH_SIGNUP", global = true)]
    pub signup: Option<String>,
    /// Console sign-in failures per IP, or per account, that block further attempts (more
    /// than this many).
    #[arg(long, env = "KASH_SIGNIN_MAX_FAILURES", global = true)]
    pub signin_max_failures: Option<u32>,
    #[arg(long, env = "KASH_SIGNIN_WINDOW_SECS", global = true)]
    pub signin_window_secs: Option<u64>,
    #[arg(long, env = "KASH_SIGNIN_LOCKOUT_SECS", global = true)]
    pub signin_lockout_secs: Option<u64>,
    /// Webhook request timeout in milliseconds (the contract says 10 s; tests shorten it).
    #[arg(long, env = "KASH_WEBHOOK_TIMEOUT_MS", global = true)]
    pub webhook_timeout_ms: Option<u64>,
    /// How often an idle delivery worker looks for due events, in milliseconds.
    #[arg(long, env = "KASH_WEBHOOK_POLL_MS", global = true)]
    pub webhook_poll_ms: Option<u64>,
    /// Webhook deliveries in flight per worker process (each to a different key).
    #[arg(long, env = "KASH_WEBHOOK_CONCURRENCY", global = true)]
    pub webhook_concurrency: Option<u32>,
    /// `revenueShareBps` of new organizations (0–10000).
    #[arg(long, env = "KASH_DEFAULT_REVENUE_SHARE_BPS", global = true)]
    pub default_revenue_share_bps: Option<u32>,
    /// Days an accrued revenue share is held before settlement makes it payable (0–3650).
    #[arg(long, env = "KASH_REVENUE_HOLD_DAYS", global = true)]
    pub revenue_hold_days: Option<u32>,
    /// Multiplies every per-IP limit of the public `/api` (for benchmarks and load tests).
    #[arg(long, env = "KASH_PUBLIC_API_RATE_SCALE", global = true)]
    pub public_api_rate_scale: Option<u32>,
    /// How often embed counters are flushed to the database, in milliseconds (at most 5000).
    #[arg(long, env = "KASH_EMBED_FLUSH_MS", global = true)]
    pub embed_flush_ms: Option<u64>,
    /// The X (Twitter) account tweet links mention (`@handle`, without the `@`).
    #[arg(long, env = "KASH_X_BOT_HANDLE", global = true)]
    pub x_bot_handle: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The optional TOML file: the same settings, snake_case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    environment: Option<String>,
    data_dir: Option<PathBuf>,
    pepper: Option<String>,
    pepper_previous: Option<String>,
    pepper_previous_until: Option<String>,
    secrets_key: Option<String>,
    redis_url: Option<String>,
    chain_id: Option<u64>,
    public_url: Option<String>,
    auto_redeem: Option<bool>,
    trusted_proxies: Option<String>,
    webhook_allow_private: Option<bool>,
    log_format: Option<LogFormat>,
    db_max_connections: Option<u32>,
    lockout_max_failures: Option<u32>,
    lockout_window_secs: Option<u64>,
    lockout_duration_secs: Option<u64>,
    rate_limit_enterprise: Option<u32>,
    rate_limit_mm: Option<u32>,
    max_trade_usdc: Option<u64>,
    error_docs_url: Option<String>,
    cancel_grace_hours: Option<u64>,
    signup: Option<String>,
    signin_max_failures: Option<u32>,
    signin_window_secs: Option<u64>,
    signin_lockout_secs: Option<u64>,
    webhook_timeout_ms: Option<u64>,
    webhook_poll_ms: Option<u64>,
    webhook_concurrency: Option<u32>,
    default_revenue_share_bps: Option<u32>,
    revenue_hold_days: Option<u32>,
    public_api_rate_scale: Option<u32>,
    embed_flush_ms: Option<u64>,
    x_bot_handle: Option<String>,
}

/// Effective settings. Secrets stay as given here; [`crate::secrets`] resolves the generated
/// test defaults.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    #[serde(serialize_with = "ser_env")]
    pub environment: Environment,
    pub data_dir: PathBuf,
    pub pepper: Option<String>,
    pub pepper_previous: Option<String>,
    pub pepper_previous_until: Option<chrono::DateTime<chrono::Utc>>,
    pub secrets_key: Option<String>,
    pub redis_url: Option<String>,
    pub chain_id: u64,
    pub public_url: String,
    pub auto_redeem: bool,
    #[serde(serialize_with = "ser_nets")]
    pub trusted_proxies: Vec<IpNet>,
    pub webhook_allow_private: bool,
    pub log_format: LogFormat,
    pub db_max_connections: u32,
    pub lockout_max_failures: u32,
    pub lockout_window_secs: u64,
    pub lockout_duration_secs: u64,
    pub rate_limit_enterprise: u32,
    pub rate_limit_mm: u32,
    pub max_trade_usdc: u64,
    pub error_docs_url: String,
    pub cancel_grace_hours: u64,
    /// `KASH_SIGNUP=open`.
    pub signup_open: bool,
    pub signin_max_failures: u32,
    pub signin_window_secs: u64,
    pub signin_lockout_secs: u64,
    pub webhook_timeout_ms: u64,
    pub webhook_poll_ms: u64,
    pub webhook_concurrency: u32,
    pub default_revenue_share_bps: u32,
    pub revenue_hold_days: u32,
    pub public_api_rate_scale: u32,
    pub embed_flush_ms: u64,
    pub x_bot_handle: String,
}

fn ser_env<S: serde::Serializer>(env: &Environment, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(env.as_str())
}

fn ser_nets<S: serde::Serializer>(nets: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(nets.iter().map(|n| n.to_string()))
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_ERROR_DOCS_URL: &str = "https://docs.kash.bot/developer-docs/api-errors/";

impl Settings {
    /// Applies flags/environment (`args`, already merged by clap), then the file, then the
    /// defaults, and validates the result.
    pub fn resolve(args: &ConfigArgs) -> Result<Settings, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        macro_rules! pick {
            ($field:ident) => {
                args.$field.clone().or(file.$field.clone())
            };
        }
        let environment: Environment = pick!(environment)
            .unwrap_or_else(|| "test".into())
            .parse()
            .map_err(ConfigError)?;
        let data_dir = pick!(data_dir).unwrap_or_else(|| PathBuf::from("./kash-data"));
        let database_url = pick!(database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("kash.db").display()));
        let listen = pick!(listen).unwrap_or_else(|| {
            DEFAULT_LISTEN
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
        });
        let chain_id = pick!(chain_id).unwrap_or(31_337);
        if chain_id == 0 || (9_000_000..=9_999_999).contains(&chain_id) {
            return Err(ConfigError(format!(
                "KASH_CHAIN_ID {chain_id} is not usable: Kash's SDK requires a positive id outside 9,000,000–9,999,999"
            )));
        }
        let pepper_previous_until = match pick!(pepper_previous_until) {
            Some(text) => Some(kash_core::time::parse_rfc3339(&text).ok_or_else(|| {
                ConfigError(format!(
                    "KASH_PEPPER_PREVIOUS_UNTIL `{text}` is not an RFC 3339 time"
                ))
            })?),
            None => None,
        };
        let pepper_previous = pick!(pepper_previous).filter(|p| !p.is_empty());
        if pepper_previous.is_some() != pepper_previous_until.is_some() {
            return Err(ConfigError(
                "KASH_PEPPER_PREVIOUS and KASH_PEPPER_PREVIOUS_UNTIL go together".into(),
            ));
        }
        let trusted_proxies = parse_nets(&pick!(trusted_proxies).unwrap_or_default())
            .map_err(|e| ConfigError(format!("KASH_TRUSTED_PROXIES: {e}")))?;
        let public_url = pick!(public_url)
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        let mut error_docs_url =
            pick!(error_docs_url).unwrap_or_else(|| DEFAULT_ERROR_DOCS_URL.to_string());
        if !error_docs_url.ends_with('/') {
            error_docs_url.push('/');
        }
        let signup_open = match pick!(signup).as_deref().map(str::trim) {
            None | Some("") | Some("closed") => false,
            Some("open") => true,
            Some(other) => {
                return Err(ConfigError(format!(
                    "KASH_SIGNUP `{other}` is not `open` or `closed`"
                )))
            }
        };
        let default_revenue_share_bps = pick!(default_revenue_share_bps).unwrap_or(5_000);
        if default_revenue_share_bps > 10_000 {
            return Err(ConfigError(format!(
                "KASH_DEFAULT_REVENUE_SHARE_BPS {default_revenue_share_bps} is not between 0 and 10000"
            )));
        }
        let revenue_hold_days = pick!(revenue_hold_days).unwrap_or(7);
        if revenue_hold_days > 3_650 {
            return Err(ConfigError(format!(
                "KASH_REVENUE_HOLD_DAYS {revenue_hold_days} is not between 0 and 3650"
            )));
        }
        let embed_flush_ms = pick!(embed_flush_ms).unwrap_or(1_000);
        if !(1..=5_000).contains(&embed_flush_ms) {
            return Err(ConfigError(format!(
                "KASH_EMBED_FLUSH_MS {embed_flush_ms} is not between 1 and 5000 (counters are flushed at least every 5 s)"
            )));
        }
        let x_bot_handle = pick!(x_bot_handle)
            .map(|h| h.trim().trim_start_matches('@').to_string())
            .unwrap_or_else(|| "kash_bot".into());
        let handle_ok = (1..=15).contains(&x_bot_handle.len())
            && x_bot_handle
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !handle_ok {
            return Err(ConfigError(format!(
                "KASH_X_BOT_HANDLE `{x_bot_handle}` is not an X handle (1–15 letters, digits or _)"
            )));
        }
        let settings = Settings {
            listen,
            database_url,
            environment,
            data_dir,
            pepper: pick!(pepper).filter(|p| !p.is_empty()),
            pepper_previous,
            pepper_previous_until,
            secrets_key: pick!(secrets_key).filter(|p| !p.is_empty()),
            redis_url: pick!(redis_url).filter(|u| !u.is_empty()),
            chain_id,
            public_url,
            auto_redeem: pick!(auto_redeem).unwrap_or(true),
            trusted_proxies,
            webhook_allow_private: pick!(webhook_allow_private).unwrap_or(false),
            log_format: pick!(log_format).unwrap_or_default(),
            db_max_connections: pick!(db_max_connections).unwrap_or(16).max(1),
            lockout_max_failures: pick!(lockout_max_failures).unwrap_or(20),
            lockout_window_secs: pick!(lockout_window_secs).unwrap_or(300).max(1),
            lockout_duration_secs: pick!(lockout_duration_secs).unwrap_or(900).max(1),
            rate_limit_enterprise: pick!(rate_limit_enterprise).unwrap_or(3_000).max(1),
            rate_limit_mm: pick!(rate_limit_mm).unwrap_or(6_000).max(1),
            max_trade_usdc: pick!(max_trade_usdc).unwrap_or(1_000_000),
            error_docs_url,
            cancel_grace_hours: pick!(cancel_grace_hours).unwrap_or(72),
            signup_open,
            signin_max_failures: pick!(signin_max_failures).unwrap_or(20),
            signin_window_secs: pick!(signin_window_secs).unwrap_or(300).max(1),
            signin_lockout_secs: pick!(signin_lockout_secs).unwrap_or(900).max(1),
            webhook_timeout_ms: pick!(webhook_timeout_ms).unwrap_or(10_000).max(1),
            webhook_poll_ms: pick!(webhook_poll_ms).unwrap_or(250).max(1),
            webhook_concurrency: pick!(webhook_concurrency).unwrap_or(512).max(1),
            default_revenue_share_bps,
            revenue_hold_days,
            public_api_rate_scale: pick!(public_api_rate_scale).unwrap_or(1).max(1),
            embed_flush_ms,
            x_bot_handle,
        };
        Ok(settings)
    }

    pub fn tier_rate_limits(&self) -> TierRateLimits {
        TierRateLimits {
            enterprise: self.rate_limit_enterprise,
            mm: self.rate_limit_mm,
        }
    }

    /// The settings as TOML with every secret replaced, for `--print-config`.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        let hide = |v: &mut Option<String>| {
            if v.is_some() {
                *v = Some("[redacted]".into());
            }
        };
        hide(&mut shown.pepper);
        hide(&mut shown.pepper_previous);
        hide(&mut shown.secrets_key);
        if let Some(url) = &shown.redis_url {
            shown.redis_url = Some(kash_store::db::redact_url(url));
        }
        shown.database_url = kash_store::db::redact_url(&shown.database_url);
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot render settings: {e}\n"))
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
}

/// Parses a comma list of addresses and CIDRs (`10.0.0.1, 10.1.0.0/16, ::1`); an address is a
/// single-host network.
pub fn parse_nets(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| format!("`{item}` is not an IPv4/IPv6 address or CIDR"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_nothing() {
        let s = Settings::resolve(&ConfigArgs::default()).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite://./kash-data/kash.db");
        assert_eq!(s.environment, Environment::Test);
        assert_eq!(s.chain_id, 31_337);
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert!(s.auto_redeem);
        assert!(!s.webhook_allow_private);
        assert!(!s.signup_open);
        assert_eq!(
            (
                s.signin_max_failures,
                s.signin_window_secs,
                s.signin_lockout_secs
            ),
            (20, 300, 900)
        );
    }

    #[test]
    fn signup_is_open_or_closed() {
        let open = ConfigArgs {
            signup: Some("open".into()),
            ..ConfigArgs::default()
        };
        assert!(Settings::resolve(&open).unwrap().signup_open);
        let bad = ConfigArgs {
            signup: Some("yes".into()),
            ..ConfigArgs::default()
        };
        assert!(Settings::resolve(&bad).is_err());
    }

    #[test]
    fn flags_beat_file_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kash.toml");
        std::fs::write(&path, "chain_id = 1337\nlisten = \"0.0.0.0:9000\"\n").unwrap();
        let args = ConfigArgs {
            config: Some(path),
            chain_id: Some(4242),
            ..ConfigArgs::default()
        };
        let s = Settings::resolve(&args).unwrap();
        assert_eq!(s.chain_id, 4242);
        assert_eq!(s.listen.to_string(), "0.0.0.0:9000");
    }

    #[test]
    fn rejects_bad_values() {
        let bad_chain = ConfigArgs {
            chain_id: Some(9_500_000),
            ..ConfigArgs::default()
        };
        assert!(Settings::resolve(&bad_chain).is_err());
        let bad_proxy = ConfigArgs {
            trusted_proxies: Some("10.0.0.0/8, nope".into()),
            ..ConfigArgs::default()
        };
        assert!(Settings::resolve(&bad_proxy).is_err());
    }

    #[test]
    fn organization_and_embed_settings() {
        let s = Settings::resolve(&ConfigArgs::default()).unwrap();
        assert_eq!(
            (
                s.default_revenue_share_bps,
                s.public_api_rate_scale,
                s.embed_flush_ms,
                s.revenue_hold_days
            ),
            (5_000, 1, 1_000, 7)
        );
        for bad in [
            ConfigArgs {
                default_revenue_share_bps: Some(10_001),
                ..ConfigArgs::default()
            },
            ConfigArgs {
                embed_flush_ms: Some(0),
                ..ConfigArgs::default()
            },
            ConfigArgs {
                revenue_hold_days: Some(3_651),
                ..ConfigArgs::default()
            },
            ConfigArgs {
                embed_flush_ms: Some(5_001),
                ..ConfigArgs::default()
            },
        ] {
            assert!(Settings::resolve(&bad).is_err(), "{bad:?}");
        }
        let scaled = ConfigArgs {
            public_api_rate_scale: Some(0),
            ..ConfigArgs::default()
        };
        assert_eq!(Settings::resolve(&scaled).unwrap().public_api_rate_scale, 1);
    }

    #[test]
    fn x_bot_handle() {
        let s = Settings::resolve(&ConfigArgs::default()).unwrap();
        assert_eq!(s.x_bot_handle, "kash_bot");
        let at = ConfigArgs {
            x_bot_handle: Some(" @Acme_1 ".into()),
            ..ConfigArgs::default()
        };
        assert_eq!(Settings::resolve(&at).unwrap().x_bot_handle, "Acme_1");
        for bad in ["", "@", "a b", "a-b", "sixteen_chars_xx", "é"] {
            let args = ConfigArgs {
                x_bot_handle: Some(bad.into()),
                ..ConfigArgs::default()
            };
            assert!(Settings::resolve(&args).is_err(), "{bad}");
        }
    }

    #[test]
    fn print_config_redacts_secrets() {
        let args = ConfigArgs {
            pepper: Some("super-secret-pepper".into()),
            database_url: Some("postgres://u:pw@h/db".into()),
            ..ConfigArgs::default()
        };
        let text = Settings::resolve(&args).unwrap().redacted_toml();
        assert!(!text.contains("super-secret-pepper"));
        assert!(!text.contains(":pw@"));
        assert!(text.contains("[redacted]"));
    }

    #[test]
    fn nets() {
        let nets = parse_nets("10.0.0.1, 10.1.2.3/16,::1,2001:db8::/32").unwrap();
        assert_eq!(nets[0].to_string(), "10.0.0.1/32");
        assert_eq!(nets[1].to_string(), "10.1.0.0/16");
        assert_eq!(nets[2].to_string(), "::1/128");
        assert!(parse_nets("10.0.0.0/33").is_err());
    }
}
