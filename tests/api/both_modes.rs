//! What both modes promise alike, run against each by one macro: signing in, being recognised,
//! signing out, listing and killing devices, surviving a restart. Where the JWT mode can act
//! only when its access token expires, the test waits (on the frozen clock) that long for both
//! modes: the promise is the same, only its moment differs.

/// The access tokens' lifetime in these tests, and the clock skew the server allows.
const ACCESS_TTL: i64 = 300;
const LEEWAY: i64 = 2;

macro_rules! shared_behaviour {
    ($($module:ident: $mode:expr;)*) => {$(
        mod $module {
            use reqwest::StatusCode;
            use ticketbooth::model::{Mode, Viewer};

            use super::{ACCESS_TTL, LEEWAY};
            use crate::helpers::*;

            const MODE: Mode = $mode;

            #[tokio::test]
            async fn a_sign_in_is_recognised_in_the_chosen_mode() {
                let app = spawn_app().await;
                let browser = app.browser();

                assert_redirects_to(&browser.sign_up_with("ana", MODE.key()).await, "/dashboard");

                let expected = Viewer { username: "ana".into(), mode: MODE, is_admin: false };
                assert_eq!(browser.viewer().await, Some(expected.clone()));
                assert_eq!(browser.dashboard().await.viewer, expected);
                let devices = browser.devices().await;
                assert_eq!(devices.len(), 1);
                assert!(devices[0].is_current && devices[0].mode == MODE);
            }

            /// The header's badge and forms are written out once per mode as static HTML
            /// (src/pages/layout.rs): held here to the names and URLs they stand for, and
            /// posted as a browser without JavaScript posts them.
            #[tokio::test]
            async fn the_headers_own_forms_switch_to_the_other_mode_and_sign_out() {
                use leptos::server_fn::ServerFn as _;
                use ticketbooth::api::{LogOut, SwitchMode};

                let app = spawn_app().await;
                let browser = app.browser();
                browser.sign_up_with("hal", MODE.key()).await;
                let page = browser.get("/").await.text().await.unwrap();
                let other = MODE.other();
                for expected in [
                    format!(
                        r#"data-mode="{}" data-testid="mode">{}</span>"#,
                        MODE.key(),
                        MODE.label()
                    ),
                    format!(
                        r#"action="{}" data-to="{}"><input type="hidden" name="to" value="{}">"#,
                        SwitchMode::url(),
                        other.key(),
                        other.key()
                    ),
                    format!(">Use {}</button>", other.label()),
                    format!(r#"action="{}"><button"#, LogOut::url()),
                ] {
                    assert!(page.contains(&expected), "{expected} in the header of {page}");
                }

                browser
                    .post_form_without_javascript(SwitchMode::url(), "/", &[("to", other.key())])
                    .await;
                assert_eq!(browser.viewer().await.map(|viewer| viewer.mode), Some(other));
                browser.post_form_without_javascript(LogOut::url(), "/", &[]).await;
                assert_eq!(browser.viewer().await, None);
            }

            #[tokio::test]
            async fn signing_out_leaves_credentials_that_get_nobody_in() {
                let app = spawn_app().await;
                let browser = app.browser();
                browser.sign_up_with("ben", MODE.key()).await;
                let copy = app.browser_holding_the_cookies_of(&browser);

                assert_redirects_to(&browser.log_out().await, "/login");

                assert_eq!(browser.viewer().await, None);
                // A copy of the old cookies: refused now (session), or once the access token
                // has expired, and never renewed (JWT).
                app.clock.advance(ACCESS_TTL + LEEWAY + 1);
                assert_eq!(copy.viewer_after_renewal().await, None);
            }

            #[tokio::test]
            async fn a_device_killed_from_another_is_signed_out_and_cannot_renew() {
                let app = spawn_app().await;
                let laptop = app.browser();
                assert_redirects_to(&laptop.sign_up_with("cyd", MODE.key()).await, "/dashboard");
                let phone = app.browser();
                assert_redirects_to(&phone.log_in_with("cyd", MODE.key()).await, "/dashboard");
                let devices = laptop.devices().await;
                assert_eq!(devices.len(), 2);
                let phone_device = devices.iter().find(|device| !device.is_current).unwrap();

                assert_eq!(laptop.kill(&phone_device.id).await.status(), StatusCode::OK);

                let live: Vec<_> = laptop
                    .devices()
                    .await
                    .into_iter()
                    .filter(|device| device.revoked.is_none())
                    .collect();
                assert_eq!(live.len(), 1);
                assert!(live[0].is_current);
                app.clock.advance(ACCESS_TTL + LEEWAY + 1);
                assert_eq!(phone.viewer_after_renewal().await, None);
                assert!(laptop.viewer_after_renewal().await.is_some());
            }

            #[tokio::test]
            async fn another_users_device_is_not_found_and_stays_signed_in() {
                let app = spawn_app().await;
                let mallory = app.browser();
                mallory.sign_up_with("mallory", MODE.key()).await;
                let victim = app.browser();
                victim.sign_up_with("victim", MODE.key()).await;
                let victim_device = victim.devices().await[0].id.clone();

                assert_eq!(mallory.kill(&victim_device).await.status(), StatusCode::NOT_FOUND);

                app.clock.advance(ACCESS_TTL + LEEWAY + 1);
                assert_eq!(victim.viewer_after_renewal().await.unwrap().username, "victim");
            }

            #[tokio::test]
            async fn a_restart_on_the_same_database_signs_nobody_out() {
                let app = spawn_app().await;
                let browser = app.browser();
                browser.sign_up_with("dot", MODE.key()).await;

                let app = app.restart().await;

                let viewer = browser.viewer_after_renewal().await.unwrap();
                assert_eq!((viewer.username.as_str(), viewer.mode), ("dot", MODE));
                assert_eq!(browser.devices().await.len(), 1);
                drop(app);
            }
        }
    )*};
}

shared_behaviour! {
    session: Mode::Session;
    jwt: Mode::Jwt;
}
