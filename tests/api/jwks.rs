//! `JWT_ALGORITHM=EdDSA`: a private key signs, the public keys at `/.well-known/jwks.json`
//! verify, so another service checks this server's tokens without the power to mint them; the
//! classic confusion attack (an HS256 token "signed" with the public key) is refused; a key
//! rotation keeps the old public key published until its tokens expire.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};
use ticketbooth::auth::jwt::keys::KeyRing;

use crate::helpers::*;

async fn eddsa_app() -> TestApp {
    spawn_app_with(&[("JWT_ALGORITHM", "EdDSA")]).await
}

async fn published(app: &TestApp) -> Vec<Value> {
    let response = app.browser().get("/.well-known/jwks.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let set: Value = response.json().await.unwrap();
    set["keys"].as_array().unwrap().clone()
}

#[tokio::test]
async fn under_eddsa_another_service_verifies_a_token_with_only_the_published_key() {
    let app = eddsa_app().await;
    let tokens = api_user(&app, "ada").await;
    let header = part(&tokens.access_token, 0);
    assert_eq!(header["alg"], "EdDSA");

    let keys = published(&app).await;
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kid"], header["kid"]);
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    assert!(key.get("d").is_none(), "no private part is ever published");

    // Another service: the JWK and the token, nothing else.
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).unwrap();
    let mut rules = Validation::new(Algorithm::EdDSA);
    rules.set_audience(&["ticketbooth"]);
    rules.set_issuer(&[app.base.as_str()]);
    let claims = jsonwebtoken::decode::<Value>(
        &tokens.access_token,
        &DecodingKey::from_jwk(&jwk).unwrap(),
        &rules,
    )
    .expect("verified with the public key alone")
    .claims;
    assert_eq!(claims["name"], "ada");
    assert_eq!(
        me(&app, &tokens.access_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_hs256_token_signed_with_the_public_key_is_refused() {
    let app = eddsa_app().await;
    let tokens = api_user(&app, "bea").await;
    let keys = published(&app).await;
    let x = keys[0]["x"].as_str().unwrap();
    let raw_public =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, x).unwrap();
    let mut header = part(&tokens.access_token, 0);
    header["alg"] = json!("HS256");
    let claims = part(&tokens.access_token, 1);
    let set_text = serde_json::to_string(&json!({ "keys": keys })).unwrap();

    // Every form an attacker could take the public key in, as the HMAC secret.
    for secret in [raw_public.as_slice(), x.as_bytes(), set_text.as_bytes()] {
        let input = format!("{}.{}", encode_part(&header), encode_part(&claims));
        let signature = jsonwebtoken::crypto::sign(
            input.as_bytes(),
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
        )
        .unwrap();
        let forged = format!("{input}.{signature}");
        assert_refused(
            me(&app, &forged).await,
            "the algorithm HS256 is not allowed",
        )
        .await;
    }
}

#[tokio::test]
async fn under_hs256_no_key_is_published() {
    let app = spawn_app().await;
    assert!(
        published(&app).await.is_empty(),
        "a shared secret stays secret"
    );
}

#[tokio::test]
async fn a_rotated_eddsa_key_stays_published_until_its_tokens_expire() {
    let app = eddsa_app().await;
    let old = api_user(&app, "cyd").await;
    let config = app.server.state.config.clone();
    let new_kid = KeyRing::rotate_file(&config, app.clock.now(), 600).unwrap();

    let app = app.restart().await;

    let kids: Vec<Value> = published(&app)
        .await
        .iter()
        .map(|key| key["kid"].clone())
        .collect();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[0], json!(new_kid), "the current key first");
    assert_eq!(
        part(&api_token(&app, "cyd").await.access_token, 0)["kid"],
        json!(new_kid)
    );
    assert_eq!(me(&app, &old.access_token).await.status(), StatusCode::OK);

    app.clock.advance(600);
    assert_eq!(published(&app).await.len(), 1, "the old key retired");
}
