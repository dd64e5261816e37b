//! Administrators: made by a command, the only ones who see /admin (everyone else gets 404,
//! whatever their token claims), and every action written on the target's log.

use reqwest::StatusCode;
use serde_json::json;
use ticketbooth::model::{ActivityKind, AdminUserRow, AdminUserView, RoleChange, Viewer};

use crate::helpers::*;

async fn admin_browser(app: &TestApp, name: &str) -> Browser {
    let browser = app.signed_in_browser(name).await;
    make_admin(app, name).await;
    browser
}

#[tokio::test]
async fn a_non_administrator_finds_nothing_at_any_admin_route() {
    let app = spawn_app().await;
    let user = app.signed_in_browser("ivy").await;
    let victim = app.signed_in_browser("jon").await;
    let victim_id = app
        .server
        .state
        .db
        .user_by_username("jon")
        .await
        .unwrap()
        .unwrap()
        .id;

    assert_eq!(user.get("/admin").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        user.get(&format!("/admin/users/{victim_id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        user.get("/fn/admin_users").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        user.get(&format!("/fn/admin_user?id={victim_id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let end = user
        .post_form("/fn/admin_end_devices", &[("user", &victim_id.to_string())])
        .await;
    assert_eq!(end.status(), StatusCode::NOT_FOUND);
    for role in ["admin", "not-a-role"] {
        let promote = user
            .post_form(
                "/fn/admin_set_role",
                &[("user", &victim_id.to_string()), ("role", role)],
            )
            .await;
        assert_eq!(promote.status(), StatusCode::NOT_FOUND, "{role}");
    }
    let own_id = user_id(&app, "ivy").await.to_string();
    let promote_self = user
        .post_form(
            "/fn/admin_set_role",
            &[("user", &own_id), ("role", "admin")],
        )
        .await;
    assert_eq!(promote_self.status(), StatusCode::NOT_FOUND);
    assert!(!user.viewer().await.unwrap().is_admin);
    assert!(
        victim.viewer().await.is_some(),
        "nothing happened to the victim"
    );
    // Signed out, the admin pages send you to log in, like every protected page.
    assert_redirects_to(&app.browser().get("/admin").await, "/login?next=/admin");
}

#[tokio::test]
async fn a_jwt_whose_role_claim_was_edited_to_admin_is_refused() {
    let app = jwt_app(&[]).await;
    let tokens = api_user(&app, "kay").await;
    let header = part(&tokens.access_token, 0);
    let mut claims = part(&tokens.access_token, 1);
    claims["role"] = json!("admin");
    let signature = tokens.access_token.rsplit('.').next().unwrap();
    let forged = format!(
        "{}.{}.{signature}",
        encode_part(&header),
        encode_part(&claims)
    );

    let response = with_bearer(&app, reqwest::Method::GET, "/fn/admin_users", &forged).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // And a genuine token of an account the database calls admin is accepted: the role is read
    // from the database, not from the token.
    make_admin(&app, "kay").await;
    let genuine = with_bearer(
        &app,
        reqwest::Method::GET,
        "/fn/admin_users",
        &tokens.access_token,
    )
    .await;
    assert_eq!(genuine.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_administrator_lists_accounts_and_signs_a_users_devices_out_on_the_record() {
    let app = spawn_app().await;
    let admin = admin_browser(&app, "lee").await;
    let laptop = app.signed_in_browser("mia").await;
    let phone = app.browser();
    assert_redirects_to(&phone.log_in_with("mia", JWT).await, "/dashboard");
    let mia = app
        .server
        .state
        .db
        .user_by_username("mia")
        .await
        .unwrap()
        .unwrap()
        .id;

    let users: Vec<AdminUserRow> = admin.get("/fn/admin_users").await.json().await.unwrap();
    let row = users.iter().find(|user| user.username == "mia").unwrap();
    assert_eq!(row.devices, 2);
    assert!(row.last_activity.is_some());
    assert_eq!(admin.get("/admin").await.status(), StatusCode::OK);

    let view: AdminUserView = admin
        .get(&format!("/fn/admin_user?id={mia}"))
        .await
        .json()
        .await
        .unwrap();
    let laptop_device = view
        .devices
        .iter()
        .find(|device| device.mode == ticketbooth::model::Mode::Session)
        .unwrap();
    let one = admin
        .post_form(
            "/fn/admin_end_devices",
            &[("user", &mia.to_string()), ("device", &laptop_device.id)],
        )
        .await;
    assert_eq!(one.status(), StatusCode::OK);
    assert_redirects_to(
        &laptop.get("/dashboard").await,
        "/login?next=/dashboard&signed_out=admin",
    );
    let all = admin
        .post_form("/fn/admin_end_devices", &[("user", &mia.to_string())])
        .await;
    assert_eq!(all.status(), StatusCode::OK);
    assert_eq!(
        phone.refresh_as_script().await.status(),
        StatusCode::UNAUTHORIZED
    );

    let view: AdminUserView = admin
        .get(&format!("/fn/admin_user?id={mia}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(view.devices.is_empty());
    let admin_entries: Vec<_> = view
        .activity
        .entries
        .iter()
        .filter(|entry| entry.kind == ActivityKind::AdminAction)
        .collect();
    assert_eq!(admin_entries.len(), 2, "{:#?}", view.activity);
    assert!(
        admin_entries
            .iter()
            .all(|entry| entry.summary.contains("lee"))
    );
    // A device id that is not the user's, or no user at all: 404, nothing changes.
    let missing = admin
        .post_form(
            "/fn/admin_end_devices",
            &[("user", &mia.to_string()), ("device", "no-such-device")],
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        admin.get("/fn/admin_user?id=999999").await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn user_id(app: &TestApp, name: &str) -> i64 {
    app.server
        .state
        .db
        .user_by_username(name)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn set_role(admin: &Browser, user: i64, role: &str) -> reqwest::Response {
    admin
        .post_form(
            "/fn/admin_set_role",
            &[("user", &user.to_string()), ("role", role)],
        )
        .await
}

async fn admin_view(admin: &Browser, user: i64) -> AdminUserView {
    admin
        .get(&format!("/fn/admin_user?id={user}"))
        .await
        .json()
        .await
        .unwrap()
}

fn is_admin(viewer: Option<Viewer>) -> bool {
    viewer.expect("signed in").is_admin
}

#[tokio::test]
async fn a_promotion_and_a_demotion_reach_a_cookie_session_at_its_next_request_in_either_store() {
    for store in [database_store(), "memory"] {
        let app = spawn_app_with(&[("SESSION_STORE", store)]).await;
        let admin = admin_browser(&app, "lee").await;
        let target = app.signed_in_browser("max").await;
        let max = user_id(&app, "max").await;
        assert!(!is_admin(target.viewer().await));

        let promoted = set_role(&admin, max, "admin").await;
        assert_eq!(promoted.status(), StatusCode::OK, "{store}");
        let change: RoleChange = promoted.json().await.unwrap();
        assert!(change.changed);
        assert_eq!(change.reach.sessions, 1);
        assert_eq!(change.reach.jwt_devices, 0);
        assert!(is_admin(target.viewer().await), "{store}: the next request");
        assert_eq!(target.get("/fn/admin_users").await.status(), StatusCode::OK);

        let demoted: RoleChange = set_role(&admin, max, "user").await.json().await.unwrap();
        assert!(demoted.changed);
        assert!(
            !is_admin(target.viewer().await),
            "{store}: the next request"
        );
        assert_eq!(
            target.get("/fn/admin_users").await.status(),
            StatusCode::NOT_FOUND
        );
        let again: RoleChange = set_role(&admin, max, "user").await.json().await.unwrap();
        assert!(!again.changed, "already a user: nothing written");

        let view = admin_view(&admin, max).await;
        assert_eq!(view.role, "user");
        assert!(view.role_changed.is_some());
        let summaries: Vec<_> = view
            .activity
            .entries
            .iter()
            .filter(|entry| entry.kind == ActivityKind::AdminAction)
            .map(|entry| entry.summary.clone())
            .collect();
        assert_eq!(
            summaries,
            [
                "The administrator lee took this account's administrator role away.",
                "The administrator lee made this account an administrator.",
            ],
            "{store}"
        );
    }
}

#[tokio::test]
async fn a_demoted_jwt_device_keeps_its_admin_claim_until_its_next_refresh_and_the_page_says_until_when()
 {
    let app = spawn_app().await;
    let admin = admin_browser(&app, "lee").await;
    app.signed_in_browser("nia").await.log_out().await;
    make_admin(&app, "nia").await;
    let phone = app.browser();
    assert_redirects_to(&phone.log_in_with("nia", JWT).await, "/dashboard");
    assert!(is_admin(phone.viewer().await));
    let nia = user_id(&app, "nia").await;
    let issued = app.clock.now();

    app.clock.advance(60);
    let change: RoleChange = set_role(&admin, nia, "user").await.json().await.unwrap();

    assert_eq!(change.reach.jwt_devices, 1);
    let until = change
        .reach
        .stale_claim_until
        .expect("a stale claim under pure");
    assert_eq!(until.unix, issued + 300, "the access token's own expiry");
    assert!(
        is_admin(phone.viewer().await),
        "the token still says admin: a copy"
    );
    assert_eq!(
        phone.get("/fn/admin_users").await.status(),
        StatusCode::NOT_FOUND,
        "but the admin pages read the database"
    );
    let view = admin_view(&admin, nia).await;
    assert_eq!(
        view.reach.stale_claim_until.map(|at| at.unix),
        Some(until.unix)
    );

    // (A token issued within the second of the change counts as before it: the page would
    // rather overstate the delay than promise too much.)
    app.clock.advance(1);
    assert_eq!(
        phone.refresh_as_script().await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(
        !is_admin(phone.viewer().await),
        "the refresh read the role from the database"
    );
    app.clock.advance(until.unix - app.clock.now());
    assert_eq!(
        admin_view(&admin, nia).await.reach.stale_claim_until,
        None,
        "no token from before the change is valid any more"
    );
}

#[tokio::test]
async fn under_session_check_a_demotion_reaches_a_jwt_device_at_its_next_request() {
    let app = spawn_app_with(&[("JWT_REVOCATION", "session-check")]).await;
    let admin = admin_browser(&app, "lee").await;
    app.signed_in_browser("oda").await.log_out().await;
    make_admin(&app, "oda").await;
    let phone = app.browser();
    assert_redirects_to(&phone.log_in_with("oda", JWT).await, "/dashboard");
    assert!(is_admin(phone.viewer().await));

    let change: RoleChange = set_role(&admin, user_id(&app, "oda").await, "user")
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(change.reach.stale_claim_until, None);
    assert!(
        !is_admin(phone.viewer().await),
        "the per-request read brings the role along"
    );
}

#[tokio::test]
async fn the_last_administrator_stays_one_and_two_demoting_each_other_leave_one() {
    let app = spawn_app().await;
    let lee = admin_browser(&app, "lee").await;
    let lee_id = user_id(&app, "lee").await;

    let alone = set_role(&lee, lee_id, "user").await;
    assert_eq!(alone.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error_body(alone)
            .await
            .to_string()
            .contains("last administrator")
    );
    let bad = set_role(&lee, lee_id, "superuser").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(is_admin(lee.viewer().await));

    let kim = admin_browser(&app, "kim").await;
    let kim_id = user_id(&app, "kim").await;
    let (first, second) = tokio::join!(
        set_role(&lee, kim_id, "user"),
        set_role(&kim, lee_id, "user")
    );
    let succeeded = [first.status(), second.status()]
        .iter()
        .filter(|status| **status == StatusCode::OK)
        .count();
    assert_eq!(succeeded, 1, "{} and {}", first.status(), second.status());
    let admins = app
        .server
        .state
        .db
        .users_overview(10)
        .await
        .unwrap()
        .into_iter()
        .filter(|user| user.role == "admin")
        .count();
    assert_eq!(admins, 1, "exactly one administrator is left");
}
