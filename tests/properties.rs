//! Property tests of every parser of what a client sends: whatever the input, each answers
//! (no panic), answers within its bounds, and never accepts what it must refuse.

use proptest::prelude::*;

use ticketbooth::{
    auth::{
        credentials::{Authorization, Credentials},
        jwt::{
            claims::{AccessTokens, split},
            keys::KeyRing,
            revocation::Denylist,
        },
        recent::RecentTable,
    },
    core::{
        client::{TrustedProxies, describe_user_agent},
        config::{CookieNames, Secret, SigningAlgorithm, parse_duration, parse_origin},
        text::excerpt,
    },
    nav::safe_next,
};

const NAMES: CookieNames = CookieNames {
    session: "tb_session",
    access: "tb_access",
    refresh: "tb_refresh",
};

/// Header values as a client can send them: visible ASCII and spaces, sometimes long.
fn header_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,64}",
        "(tb_session|tb_access|tb_refresh|tb_mode|x)=[ -~&&[^;]]{0,40}(; (tb_session|tb_access|tb_refresh|tb_mode)=[ -~&&[^;]]{0,40}){0,4}",
        "(Bearer|bearer|Basic|) ?[ -~]{0,80}",
        "[ -~]{2000,4000}",
    ]
}

proptest! {
    // Fixed size, and no regression files written into the tree: a failure prints its case.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn credentials_are_read_from_any_headers(
        cookies in proptest::collection::vec(header_text(), 0..3),
        authorization in proptest::collection::vec(header_text(), 0..3),
    ) {
        let mut headers = http::HeaderMap::new();
        for value in &cookies {
            headers.append("cookie", value.parse().unwrap());
        }
        for value in &authorization {
            headers.append("authorization", value.parse().unwrap());
        }
        let read = Credentials::read(&headers, NAMES);
        let sent: usize = cookies.iter().chain(&authorization).map(String::len).sum();
        prop_assert!(read.bytes <= sent);
        match (authorization.len(), &read.authorization) {
            (0, Authorization::Absent) | (2.., Authorization::Repeated) => {}
            (1, Authorization::Bearer(token)) => {
                let (scheme, _) = authorization[0].split_once(' ').unwrap_or((&authorization[0], ""));
                prop_assert!(scheme.eq_ignore_ascii_case("bearer"));
                // Whitespace around the token is not part of it (HTTP's optional whitespace).
                prop_assert!(authorization[0].trim_end().ends_with(token.as_str()) || token.is_empty());
                prop_assert_eq!(token.trim(), token.as_str());
            }
            (1, Authorization::Refused(refusal)) => {
                prop_assert!(refusal.to_string().len() < 200, "{refusal}");
            }
            (count, other) => prop_assert!(false, "{count} headers read as {:?}", other == &Authorization::Absent),
        }
    }

    #[test]
    fn no_token_made_of_random_text_is_accepted(token in "[A-Za-z0-9_.\\-]{0,600}|[ -~]{0,200}") {
        let tokens = AccessTokens::new(
            KeyRing::from_secrets(SigningAlgorithm::Hs256, &Secret::new(vec![9; 32]), &[]),
            "http://127.0.0.1:3000",
            300,
        );
        let refusal = tokens.verify(&token, 1_800_000_000).unwrap_err();
        prop_assert!(refusal.to_string().len() < 300, "{refusal}");
        prop_assert!(tokens.verify_signed(&token, 1_800_000_000).is_err());
        if let Some(parts) = split(&token) {
            prop_assert_eq!(parts.join("."), token);
        }
    }

    #[test]
    fn next_is_always_a_path_on_this_site(next in "[\\x00-\\x7f]{0,40}|//[ -~]{0,20}|/\\\\[ -~]{0,20}") {
        let safe = safe_next(Some(&next));
        prop_assert!(safe.starts_with('/') && !safe.starts_with("//"), "{safe}");
        prop_assert!(!safe.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace()));
    }

    #[test]
    fn settings_parsers_answer_anything(text in "[ -~]{0,40}") {
        if let Some(seconds) = parse_duration(&text) {
            prop_assert!(seconds > 0);
        }
        if let Some(origin) = parse_origin(&text) {
            prop_assert!(origin.starts_with("http://") || origin.starts_with("https://"));
            prop_assert!(!origin.contains('@') && !origin.contains(' '));
        }
        let _ = TrustedProxies::parse(&text);
    }

    #[test]
    fn device_names_and_excerpts_stay_short(agent in "\\PC{0,3000}") {
        prop_assert!(describe_user_agent(&agent).len() <= 64);
        prop_assert!(excerpt(&agent, 20).chars().count() <= 20 * 10 + 1);
    }

    /// The throttle's table against a plain list of (key, time) events, on a clock that only
    /// moves forward, as the server's does.
    #[test]
    fn a_recent_table_holds_what_a_plain_list_holds(
        events in proptest::collection::vec((0u8..6, 0i64..4, any::<bool>()), 0..80),
        since in 0i64..120,
    ) {
        let mut table = RecentTable::new(1_000);
        let mut model: Vec<(u8, i64)> = Vec::new();
        let mut now = 0;
        for (key, tick, remove) in events {
            now += tick;
            if remove {
                // Taking back the newest event of the key, as a settled sign-in does.
                let Some(&(_, at)) = model.iter().rev().find(|(k, _)| *k == key) else {
                    continue;
                };
                table.remove_one(&key, at);
                let index = model.iter().rposition(|event| *event == (key, at)).unwrap();
                model.remove(index);
            } else {
                table.record(key, now);
                model.push((key, now));
            }
        }
        for key in 0u8..6 {
            let expected: Vec<i64> = model
                .iter()
                .filter(|(k, at)| *k == key && *at > since)
                .map(|(_, at)| *at)
                .collect();
            prop_assert_eq!(table.recent(&key, since).to_vec(), expected);
        }
        table.forget_before(since);
        for key in 0u8..6 {
            let any_left = model.iter().any(|(k, at)| *k == key && *at > since);
            prop_assert_eq!(table.contains(&key), any_left);
        }
    }

    /// The denylist against a plain map, on a clock that only moves forward.
    #[test]
    fn the_denylist_denies_exactly_the_unexpired(
        entries in proptest::collection::vec((0u8..20, 0i64..100, 0i64..5), 0..100),
        later in 0i64..120,
    ) {
        let denylist = Denylist::default();
        let mut model = std::collections::HashMap::new();
        let mut now = 0;
        for (jti, lifetime, tick) in entries {
            now += tick;
            denylist.deny(jti.to_string(), now + lifetime, now);
            model.insert(jti, now + lifetime);
        }
        let asked_at = now + later;
        for jti in 0u8..20 {
            let expected = model.get(&jti).is_some_and(|exp| *exp > asked_at);
            prop_assert_eq!(denylist.denies(&jti.to_string(), asked_at), expected, "{}", jti);
        }
    }
}
