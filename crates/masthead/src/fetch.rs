//! The one guard for outbound fetches (imports now, webhooks later): an
//! address is resolved, every resolved address is checked, and the
//! connection goes to the address that was checked, so DNS rebinding
//! cannot switch it; every redirect hop is checked the same way; no proxy
//! from the environment; time and size limits. Loopback, private,
//! link-local, CGNAT, unspecified, unique-local, multicast and
//! documentation ranges (and IPv4-mapped forms of them) are refused
//! unless the operator allows private addresses (`--allow-private-fetch`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Why a fetch was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not an http(s) address")]
    BadUrl(String),
    #[error("{host} resolves to {addr}, a {why} address; refused (an operator can allow private addresses)")]
    Refused {
        host: String,
        addr: IpAddr,
        why: &'static str,
    },
    #[error("{0} cannot be resolved")]
    Unresolved(String),
    #[error("{url}: {status}")]
    Status { url: String, status: u16 },
    #[error("{0}: more than {1} bytes")]
    TooLarge(String, u64),
    #[error("{0}: too many redirects")]
    TooManyRedirects(String),
    #[error("{0}: {1}")]
    Failed(String, String),
}

/// Why `addr` is not a public unicast address, or `None` when it is.
pub fn non_public(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(a) => non_public_v4(a),
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return non_public_v4(v4);
            }
            let s = a.segments();
            if a.is_loopback() {
                Some("loopback")
            } else if a.is_unspecified() {
                Some("unspecified")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("unique-local")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if s[0] & 0xff00 == 0xff00 {
                Some("multicast")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("documentation")
            } else if s[0] == 0x0064 && s[1] == 0xff9b {
                // NAT64 carries an IPv4 address in its last 32 bits.
                non_public_v4(Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                ))
            } else if s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0 {
                // The deprecated IPv4-compatible form ::a.b.c.d.
                Some("reserved")
            } else {
                None
            }
        }
    }
}

fn non_public_v4(a: Ipv4Addr) -> Option<&'static str> {
    let o = a.octets();
    if a.is_loopback() {
        Some("loopback")
    } else if a.is_private() {
        Some("private")
    } else if a.is_link_local() {
        Some("link-local")
    } else if a.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("CGNAT")
    } else if a.is_broadcast() || a.is_multicast() || o[0] >= 240 {
        Some("reserved")
    } else if a.is_documentation() || (o[0] == 198 && (o[1] & 0xfe) == 18) {
        Some("documentation")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("reserved")
    } else {
        None
    }
}

/// A fetcher with its limits.
#[derive(Debug, Clone)]
pub struct Fetcher {
    pub allow_private: bool,
    pub timeout: Duration,
    pub max_bytes: u64,
    pub max_redirects: usize,
}

impl Default for Fetcher {
    fn default() -> Self {
        Fetcher {
            allow_private: false,
            timeout: Duration::from_secs(30),
            max_bytes: 25 * 1024 * 1024,
            max_redirects: 5,
        }
    }
}

impl Fetcher {
    /// The address to connect to for `url`, checked.
    async fn resolve(&self, url: &reqwest::Url) -> Result<SocketAddr, FetchError> {
        let host = url
            .host_str()
            .ok_or_else(|| FetchError::BadUrl(url.to_string()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| FetchError::BadUrl(url.to_string()))?;
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|_| FetchError::Unresolved(host.clone()))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(FetchError::Unresolved(host));
        }
        if !self.allow_private {
            // Every address the name has must be public: a name that
            // resolves to one public and one private address is refused.
            for a in &addrs {
                if let Some(why) = non_public(a.ip()) {
                    return Err(FetchError::Refused {
                        host,
                        addr: a.ip(),
                        why,
                    });
                }
            }
        }
        Ok(addrs[0])
    }

    /// GETs `url`, following up to `max_redirects` checked redirects;
    /// returns the final URL's body.
    pub async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let mut url = reqwest::Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_string()))?;
        for _ in 0..=self.max_redirects {
            if !matches!(url.scheme(), "http" | "https") {
                return Err(FetchError::BadUrl(url.to_string()));
            }
            let addr = self.resolve(&url).await?;
            let shown = url.to_string();
            let failed = |e: reqwest::Error| FetchError::Failed(shown.clone(), e.to_string());
            let mut client = reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(self.timeout)
                .connect_timeout(self.timeout.min(Duration::from_secs(10)));
            if let Some(host) = url.host_str() {
                if host.parse::<IpAddr>().is_err() && !host.starts_with('[') {
                    client = client.resolve(host, addr);
                }
            }
            let client = client.build().map_err(failed)?;
            let mut res = client.get(url.clone()).send().await.map_err(failed)?;
            let status = res.status();
            if status.is_redirection() {
                let to = res
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| FetchError::Status {
                        url: shown.clone(),
                        status: status.as_u16(),
                    })?;
                url = url
                    .join(to)
                    .map_err(|_| FetchError::BadUrl(to.to_string()))?;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    url: shown,
                    status: status.as_u16(),
                });
            }
            if res.content_length().is_some_and(|n| n > self.max_bytes) {
                return Err(FetchError::TooLarge(shown, self.max_bytes));
            }
            let mut body = Vec::new();
            while let Some(chunk) = res.chunk().await.map_err(failed)? {
                if body.len() as u64 + chunk.len() as u64 > self.max_bytes {
                    return Err(FetchError::TooLarge(shown, self.max_bytes));
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(body);
        }
        Err(FetchError::TooManyRedirects(url.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_pass() {
        let refused = [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "CGNAT"),
            ("100.127.255.254", "CGNAT"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("255.255.255.255", "reserved"),
            ("224.0.0.1", "reserved"),
            ("240.0.0.1", "reserved"),
            ("192.0.2.10", "documentation"),
            ("198.18.0.1", "documentation"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:169.254.169.254", "link-local"),
            ("64:ff9b::7f00:1", "loopback"),
            ("::127.0.0.1", "reserved"),
            ("2001:db8::1", "documentation"),
        ];
        for (addr, why) in refused {
            let ip: IpAddr = addr.parse().unwrap();
            assert_eq!(non_public(ip), Some(why), "{addr}");
        }
        for addr in [
            "93.184.216.34",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:93.184.216.34",
        ] {
            let ip: IpAddr = addr.parse().unwrap();
            assert_eq!(non_public(ip), None, "{addr}");
        }
    }

    #[test]
    fn literal_ip_hosts_in_every_spelling_are_checked() {
        // The URL parser normalises decimal, hex and short forms; what it
        // yields is what the guard checks.
        for url in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://[::1]/",
            "http://[::ffff:7f00:1]/",
        ] {
            let u = reqwest::Url::parse(url).unwrap();
            let host = u.host_str().unwrap().trim_matches(|c| c == '[' || c == ']');
            let ip: IpAddr = host.parse().unwrap_or_else(|_| panic!("{url} → {host}"));
            assert_eq!(non_public(ip), Some("loopback"), "{url}");
        }
    }
}
