//! Administrators: made by a command, the only ones who see /admin (everyone else gets 404,
//! whatever their token claims), and every action written on the target's log.

use reqwest::StatusCode;
use serde_json::json;
use ticketbooth::model::{ActivityKind, AdminUserRow, AdminUserView};

use crate::helpers::*;

async fn admin_browser(app: &TestApp, name: &str) -> Browser {
    let browser = app.signed_in_browser(name).await;
    assert!(app.server.state.db.make_admin(name).await.unwrap());
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
    assert!(app.server.state.db.make_admin("kay").await.unwrap());
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
