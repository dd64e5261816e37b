//! Who is on the other end of a request: their IP address, looked up through the proxies we
//! trust, and a readable name for their device.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use http::{HeaderMap, header::USER_AGENT};
use ipnet::IpNet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: String,
    /// "Chrome 156 on Linux"
    pub device: String,
    /// The load balancer's door the request came through, as the balancer names it in
    /// `X-Ticketbooth-Door` ("round-robin", "sticky"): believed only from a trusted proxy.
    pub door: Option<String>,
}

impl ClientInfo {
    /// The client of a request that came from `peer` with `headers`: behind `proxies`, the
    /// address they vouch for; without a peer (no socket), "unknown".
    pub fn of(peer: Option<IpAddr>, headers: &HeaderMap, proxies: &TrustedProxies) -> Self {
        let ip = peer.map_or_else(
            || "unknown".into(),
            |peer| proxies.client_behind(peer, headers).to_string(),
        );
        let agent = headers
            .get(USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let door = peer
            .filter(|peer| proxies.trusts(*peer))
            .and_then(|_| door_named_in(headers));
        ClientInfo {
            ip,
            device: describe_user_agent(agent),
            door,
        }
    }

    /// The server itself, acting as a client (the compare page's load, the playground).
    pub fn in_process(device: &str) -> Self {
        ClientInfo {
            ip: IpAddr::from(Ipv4Addr::LOCALHOST).to_string(),
            device: device.to_owned(),
            door: None,
        }
    }
}

/// The door `X-Ticketbooth-Door` names, if it is a plain name (letters, digits, dashes).
fn door_named_in(headers: &HeaderMap) -> Option<String> {
    let door = headers.get("x-ticketbooth-door")?.to_str().ok()?;
    let is_plain = (1..=32).contains(&door.len())
        && door.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    is_plain.then(|| door.to_owned())
}

/// Whether the request is a browser asking for a page (`Accept` names `text/html`), rather
/// than a script asking for data.
pub fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Reduces a User-Agent string to "browser major-version on OS", with woothee's parser. A few
/// names it does not tell apart are checked first; anything unrecognised is "Unknown browser".
pub fn describe_user_agent(agent: &str) -> String {
    // A long header is not more informative, only more expensive to parse.
    let mut end = agent.len().min(512);
    while !agent.is_char_boundary(end) {
        end -= 1;
    }
    let agent = &agent[..end];
    let parsed = woothee::parser::Parser::new().parse(agent);
    let known = |value: &str| !value.is_empty() && value != woothee::woothee::VALUE_UNKNOWN;
    let browser = [
        // woothee calls these Chrome or "HTTP Library", or does not know them.
        ("HeadlessChrome/", "Headless Chrome"),
        ("curl/", "curl"),
        ("Wget/", "Wget"),
        ("reqwest/", "reqwest"),
        ("PostmanRuntime/", "Postman"),
        ("python-requests/", "Python requests"),
    ]
    .iter()
    .find_map(|(marker, name)| {
        let at = agent.find(marker)? + marker.len();
        Some(with_major(name, &agent[at..]))
    })
    .or_else(|| {
        let result = parsed.as_ref().filter(|result| known(result.name))?;
        let name = match result.name {
            "SamsungBrowser" => "Samsung Internet",
            other => other,
        };
        Some(with_major(name, result.version))
    });
    let system = parsed
        .as_ref()
        .map(|result| result.os)
        .filter(|os| known(os))
        .map(|os| match os {
            os if os.starts_with("Windows") => "Windows",
            "Mac OSX" => "macOS",
            "iPhone" | "iPod" => "iOS",
            "iPad" => "iPadOS",
            "Android" => "Android",
            "ChromeOS" => "ChromeOS",
            "Linux" => "Linux",
            other => other,
        })
        // woothee has no OS for headless or command-line clients that still name one.
        .or_else(|| agent.contains("Linux").then_some("Linux"));
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser,
        (None, Some(system)) => format!("Unknown browser on {system}"),
        (None, None) => "Unknown browser".into(),
    }
}

/// `name` and the major version at the start of `version` (at most six digits), if any.
fn with_major(name: &str, version: &str) -> String {
    let major: String = version
        .chars()
        .take_while(char::is_ascii_digit)
        .take(6)
        .collect();
    if major.is_empty() {
        name.to_owned()
    } else {
        format!("{name} {major}")
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`): addresses and CIDR
/// blocks. Anyone can send the header, so it means something only when a proxy we run added it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// `10.0.0.0/8, 127.0.0.1, ::1`: addresses, or blocks with their prefix length.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut blocks = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let block = match entry.parse::<IpNet>() {
                Ok(block) => block,
                Err(_) if entry.contains('/') => {
                    let width = if entry.contains(':') { 128 } else { 32 };
                    return Err(format!(
                        "{entry:?} is not a CIDR block: the prefix length must be 0 to {width}"
                    ));
                }
                Err(_) => entry
                    .parse::<IpAddr>()
                    .map(IpNet::from)
                    .map_err(|_| format!("{entry:?} is not an IP address or CIDR block"))?,
            };
            blocks.push(canonical(block));
        }
        Ok(TrustedProxies(blocks))
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|block| block.contains(&ip))
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

/// An IPv4-mapped IPv6 block (`::ffff:10.0.0.0/104`) as the IPv4 block it means, so that it
/// matches the canonical addresses it is compared with.
fn canonical(block: IpNet) -> IpNet {
    match block {
        IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
            Some(v4) if v6.prefix_len() >= 96 => {
                IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).unwrap_or(block)
            }
            _ => block,
        },
        IpNet::V4(_) => block,
    }
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
    fn the_door_is_believed_only_from_a_trusted_proxy_and_only_as_a_plain_name() {
        let proxies = TrustedProxies::parse("10.0.0.1").unwrap();
        let through = |door: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("x-ticketbooth-door", door.parse().unwrap());
            headers
        };
        let door_of = |peer: &str, headers: &HeaderMap| {
            ClientInfo::of(Some(ip(peer)), headers, &proxies).door
        };
        assert_eq!(
            door_of("10.0.0.1", &through("sticky")),
            Some("sticky".into())
        );
        assert_eq!(door_of("203.0.113.7", &through("sticky")), None);
        assert_eq!(door_of("10.0.0.1", &through("<script>")), None);
        assert_eq!(door_of("10.0.0.1", &HeaderMap::new()), None);
        assert_eq!(
            ClientInfo::of(None, &through("sticky"), &proxies).door,
            None
        );
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
        assert!(
            TrustedProxies::parse("::ffff:10.0.0.0/104")
                .unwrap()
                .trusts(ip("10.9.8.7"))
        );
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
            (
                "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
                "Safari 17 on iPadOS",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
                "Safari 17 on macOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
                "Firefox 121 on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
                "Edge 120 on macOS",
            ),
        ];
        for (agent, expected) in cases {
            assert_eq!(describe_user_agent(agent), expected, "{agent}");
        }
    }

    #[test]
    fn unknown_or_hostile_agents_stay_short() {
        assert_eq!(describe_user_agent(""), "Unknown browser");
        for hostile in [
            format!("Chrome/{}", "9".repeat(10_000)),
            format!(
                "Mozilla/5.0 (X11; Linux x86_64) Chrome/{}",
                "9".repeat(10_000)
            ),
            "Firefox/ü".to_owned(),
            format!("curl/{}", "1".repeat(10_000)),
            "\u{0}\u{7f}💥".repeat(1_000),
        ] {
            let described = describe_user_agent(&hostile);
            assert!(described.len() <= 40, "{described}");
        }
        assert_eq!(
            describe_user_agent(&format!("curl/{}", "1".repeat(10_000))),
            "curl 111111"
        );
    }
}
