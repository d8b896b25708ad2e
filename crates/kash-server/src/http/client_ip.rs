//! The client's IP: the socket peer, unless the peer is a trusted proxy, in which case the
//! right-most untrusted `X-Forwarded-For` entry (`api.md` §3).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// IPv4-mapped IPv6 peers (`::ffff:a.b.c.d`, as dual-stack sockets report them) are the IPv4
/// address they carry.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

pub fn resolve(peer: SocketAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    if !trusted(peer_ip, proxies) {
        return peer_ip;
    }
    // Walk the hops from the nearest: every trusted proxy is skipped; the first hop we do not
    // trust is the client. A malformed entry ends the walk: nothing to its left can be trusted,
    // so the last hop we could verify stands.
    let mut client = peer_ip;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
            break;
        };
        client = ip;
        if !trusted(ip, proxies) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn xff(value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static(value));
        h
    }

    #[test]
    fn resolution() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: SocketAddr = "10.0.0.5:1234".parse().unwrap();
        let direct: SocketAddr = "203.0.113.9:1234".parse().unwrap();
        // Untrusted peers cannot spoof.
        assert_eq!(
            resolve(direct, &xff("1.2.3.4"), &proxies).to_string(),
            "203.0.113.9"
        );
        // Through a proxy: the right-most untrusted hop.
        assert_eq!(
            resolve(proxy, &xff("6.6.6.6, 1.2.3.4, 10.0.0.7"), &proxies).to_string(),
            "1.2.3.4"
        );
        assert_eq!(
            resolve(proxy, &HeaderMap::new(), &proxies).to_string(),
            "10.0.0.5"
        );
        assert_eq!(
            resolve(proxy, &xff("garbage"), &proxies).to_string(),
            "10.0.0.5"
        );
        let mapped: SocketAddr = "[::ffff:203.0.113.9]:80".parse().unwrap();
        assert_eq!(
            resolve(mapped, &HeaderMap::new(), &proxies).to_string(),
            "203.0.113.9"
        );
        assert_eq!(
            resolve(proxy, &xff("2001:db8::1"), &proxies).to_string(),
            "2001:db8::1"
        );
    }
}
