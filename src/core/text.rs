//! What the server may say back about what a client sent: never more than a short, escaped
//! excerpt. A refusal that echoed its input whole would let 20 KB in turn into 20 KB of
//! response headers out, or a log line that forges others.

/// At most `max_chars` characters of `input`, with quotes, backslashes and control characters
/// escaped, and `…` when something was cut.
pub fn excerpt(input: &str, max_chars: usize) -> String {
    let mut shown: String = input
        .chars()
        .take(max_chars)
        .flat_map(char::escape_debug)
        .collect();
    if input.chars().nth(max_chars).is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn an_excerpt_is_short_and_escaped() {
        assert_eq!(excerpt("HS384", 20), "HS384");
        assert_eq!(excerpt(&"A".repeat(20_000), 5), "AAAAA…");
        assert_eq!(excerpt("a\"b\nc", 20), "a\\\"b\\nc");
        assert!(excerpt(&"ü".repeat(1000), 40).chars().count() <= 41);
    }
}
