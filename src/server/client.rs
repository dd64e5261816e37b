//! Who is on the other end of a request: their IP address and a readable name for their device.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::{HeaderMap, header::USER_AGENT, request::Parts};

/// Where a request came from once trusted proxies are looked through, left in the request's
/// extensions by the pipeline. Without it, the TCP peer's address is the client's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: String,
    /// "Chrome 156 on Linux"
    pub device: String,
}

impl ClientInfo {
    pub fn from_parts(parts: &Parts) -> Self {
        let forwarded = parts
            .extensions
            .get::<ClientAddress>()
            .map(|ClientAddress(ip)| *ip);
        let peer = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_canonical())
        };
        let ip = forwarded
            .or_else(peer)
            .map_or_else(|| "unknown".into(), |ip| ip.to_string());
        ClientInfo {
            ip,
            device: describe_device(&parts.headers),
        }
    }
}

fn describe_device(headers: &HeaderMap) -> String {
    let agent = headers
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    describe_user_agent(agent)
}

/// Reduces a User-Agent string to "browser major-version on OS". Only the well-known shapes are
/// recognised; anything else is "Unknown browser". The order of the checks matters, because
/// browsers name each other in their User-Agents (Edge says Chrome, Chrome says Safari).
pub fn describe_user_agent(agent: &str) -> String {
    // A long header is not more informative, only more expensive to scan.
    let mut end = agent.len().min(512);
    while !agent.is_char_boundary(end) {
        end -= 1;
    }
    let agent = &agent[..end];
    const BROWSERS: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
        ("curl/", "curl"),
        ("Wget/", "Wget"),
        ("python-requests/", "Python requests"),
        ("reqwest/", "reqwest"),
        ("PostmanRuntime/", "Postman"),
    ];
    const SYSTEMS: &[(&str, &str)] = &[
        ("Windows NT", "Windows"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ];
    let browser = BROWSERS.iter().find_map(|(marker, name)| {
        let at = agent.find(marker)? + marker.len();
        let major: String = agent[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .take(6)
            .collect();
        Some(if major.is_empty() {
            (*name).to_string()
        } else {
            format!("{name} {major}")
        })
    });
    let system = SYSTEMS
        .iter()
        .find(|(marker, _)| agent.contains(marker))
        .map(|(_, name)| *name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser,
        (None, Some(system)) => format!("Unknown browser on {system}"),
        (None, None) => "Unknown browser".into(),
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`): addresses and CIDR
/// blocks. Anyone can send the header, so it means something only when a proxy we run added it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// `10.0.0.0/8, 127.0.0.1, ::1`: addresses, or blocks with their prefix length.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut blocks = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (address, prefix) = entry.split_once('/').unwrap_or((entry, ""));
            let address: IpAddr = address
                .parse()
                .map_err(|_| format!("{entry:?} is not an IP address or CIDR block"))?;
            let address = address.to_canonical();
            let width = if address.is_ipv4() { 32 } else { 128 };
            let prefix = if prefix.is_empty() {
                width
            } else {
                prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= width)
                    .ok_or_else(|| format!("{entry:?}: the prefix length must be 0 to {width}"))?
            };
            blocks.push((address, prefix));
        }
        Ok(TrustedProxies(blocks))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|(block, prefix)| match (block, ip) {
            (IpAddr::V4(block), IpAddr::V4(ip)) => {
                same_prefix(u32::from(*block).into(), u32::from(ip).into(), *prefix, 32)
            }
            (IpAddr::V6(block), IpAddr::V6(ip)) => {
                same_prefix(u128::from(*block), u128::from(ip), *prefix, 128)
            }
            _ => false,
        })
    }

    /// The client behind `peer`: while the hop we are looking at is a trusted proxy, step to
    /// the address it says it received the request from (the rightmost `X-Forwarded-For`
    /// entry not yet used). The first untrusted hop is the client; entries further left were
    /// written by the client itself and are ignored.
    pub fn client_behind(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if self.0.is_empty() {
            return client;
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        for entry in entries.into_iter().rev() {
            if !self.trusts(client) {
                break;
            }
            let Some(hop) = parse_hop(entry) else { break };
            client = hop;
        }
        client
    }
}

fn same_prefix(a: u128, b: u128, prefix: u8, width: u32) -> bool {
    let shift = width - u32::from(prefix);
    if shift >= width {
        return true;
    }
    (a >> shift) == (b >> shift)
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(
            none.client_behind(ip("127.0.0.1"), &headers),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        // The client wrote 6.6.6.6 itself; our proxies added the rest.
        let headers = forwarded(&["6.6.6.6, 203.0.113.7", "10.1.2.3"]);
        assert_eq!(
            proxies.client_behind(ip("127.0.0.1"), &headers),
            ip("203.0.113.7")
        );
        // A request that reaches us directly is its own client, whatever it claims.
        assert_eq!(
            proxies.client_behind(ip("198.51.100.4"), &headers),
            ip("198.51.100.4")
        );
        // Nothing usable forwarded: the proxy itself is all we know.
        assert_eq!(
            proxies.client_behind(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        let garbage = forwarded(&["203.0.113.7, not-an-address"]);
        assert_eq!(
            proxies.client_behind(ip("127.0.0.1"), &garbage),
            ip("127.0.0.1")
        );
        let ported = forwarded(&["[2001:db8::1]:4711"]);
        assert_eq!(
            proxies.client_behind(ip("127.0.0.1"), &ported),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn blocks_match_by_prefix_and_mapped_addresses_as_ipv4() {
        let proxies = TrustedProxies::parse("192.168.0.0/16, fd00::/8").unwrap();
        assert!(proxies.trusts(ip("192.168.44.1")));
        assert!(proxies.trusts(ip("::ffff:192.168.0.9")));
        assert!(!proxies.trusts(ip("192.169.0.1")));
        assert!(proxies.trusts(ip("fd12:3456::1")));
        assert!(!proxies.trusts(ip("fe80::1")));
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .trusts(ip("8.8.8.8"))
        );
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
    }

    #[test]
    fn common_browsers_are_named_with_their_system() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.8078.73 Safari/537.36",
                "Chrome 156 on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
                "Edge 120 on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.2; rv:121.0) Gecko/20100101 Firefox/121.0",
                "Firefox 121 on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
                "Safari 17 on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
                "Chrome 120 on Android",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
                "Headless Chrome 156 on Linux",
            ),
            ("curl/8.5.0", "curl 8"),
        ];
        for (agent, expected) in cases {
            assert_eq!(describe_user_agent(agent), expected, "{agent}");
        }
    }

    #[test]
    fn unknown_or_hostile_agents_stay_short() {
        assert_eq!(describe_user_agent(""), "Unknown browser");
        let long = format!("Chrome/{}", "9".repeat(10_000));
        assert_eq!(describe_user_agent(&long), "Chrome 999999");
        assert_eq!(describe_user_agent("Firefox/ü"), "Firefox");
    }
}
