//! The SSRF guard of `webhooks.md`: which destination addresses a webhook may never reach, and
//! the checks a webhook URL passes when it is set.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kash_core::apikey::Environment;
use url::Url;

fn blocked_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a >= 224)
}

fn blocked_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return blocked_v4(v4);
    }
    // NAT64 well-known prefix 64:ff9b::/96 embeds an IPv4 address in the last 32 bits.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        );
        return blocked_v4(v4);
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (seg[0] & 0xffc0) == 0xfe80
        || (seg[0] & 0xfe00) == 0xfc00
}

/// Whether a webhook may not be delivered to this address (unless private targets are
/// allowed by the operator).
pub fn is_blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

const MAX_URL_LEN: usize = 2048;

/// Validates a webhook URL when it is set: syntax, scheme (HTTPS in live; HTTP also in test),
/// no credentials, and every address the host resolves to passes the guard.
pub async fn validate_webhook_url(
    text: &str,
    env: Environment,
    allow_private: bool,
) -> Result<Url, String> {
    if text.len() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters"));
    }
    let url = Url::parse(text).map_err(|e| format!("is not a valid URL ({e})"))?;
    match (url.scheme(), env) {
        ("https", _) | ("http", Environment::Test) => {}
        ("http", Environment::Live) => return Err("must use https".into()),
        _ => return Err("must be an http(s) URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".into());
    }
    if url.fragment().is_some() {
        return Err("must not contain a fragment".into());
    }
    let host = url
        .host_str()
        .ok_or_else(|| "must name a host".to_string())?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    if allow_private {
        return Ok(url);
    }
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| format!("host `{host}` does not resolve"))?
            .map(|a| a.ip())
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("host `{host}` does not resolve"));
    }
    if let Some(bad) = addrs.iter().find(|ip| is_blocked(**ip)) {
        return Err(format!(
            "resolves to {bad}, a private, loopback or otherwise non-public address"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocklist() {
        for blocked in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.1.1.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
        ] {
            assert!(
                is_blocked(blocked.parse().unwrap()),
                "{blocked} should be blocked"
            );
        }
        for allowed in [
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "172.32.0.1",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(
                !is_blocked(allowed.parse().unwrap()),
                "{allowed} should be allowed"
            );
        }
    }

    #[tokio::test]
    async fn url_rules() {
        let env = Environment::Test;
        assert!(validate_webhook_url("https://8.8.8.8/hook", env, false)
            .await
            .is_ok());
        assert!(validate_webhook_url("http://8.8.8.8/hook", env, false)
            .await
            .is_ok());
        assert!(
            validate_webhook_url("http://8.8.8.8/hook", Environment::Live, false)
                .await
                .is_err()
        );
        assert!(validate_webhook_url("ftp://8.8.8.8/", env, false)
            .await
            .is_err());
        assert!(validate_webhook_url("https://u:p@8.8.8.8/", env, false)
            .await
            .is_err());
        assert!(validate_webhook_url("https://127.0.0.1/", env, false)
            .await
            .is_err());
        assert!(validate_webhook_url("https://[::1]/", env, false)
            .await
            .is_err());
        assert!(validate_webhook_url("https://localhost/", env, false)
            .await
            .is_err());
        assert!(validate_webhook_url("https://127.0.0.1/", env, true)
            .await
            .is_ok());
        assert!(validate_webhook_url("not a url", env, true).await.is_err());
    }
}
