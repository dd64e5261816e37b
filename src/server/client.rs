//! Who is on the other end of a request: their IP address and a readable name for their device.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use http::{HeaderMap, header::USER_AGENT, request::Parts};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: String,
    /// "Chrome 156 on Linux"
    pub device: String,
}

impl ClientInfo {
    pub fn from_parts(parts: &Parts) -> Self {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
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

#[cfg(test)]
mod tests {
    use super::describe_user_agent;

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
