//! Plain HTTP endpoints, thin like the server functions: the browser's token refresh, and the
//! JSON API for scripts and curl.
//!
//! ```text
//! POST   /auth/refresh          browser: rotate the refresh cookie, then go to `next`
//! POST   /api/users             {username, password}            → 201 {id, username}
//! POST   /api/token             {username, password}            → {access_token, refresh_token, token_type, expires_in}
//! POST   /api/token/refresh     {refresh_token}                 → the same, rotated
//! GET    /api/me                Authorization: Bearer <token>   → who the token says you are
//! GET    /api/devices                                           → your devices, both modes
//! DELETE /api/devices/{id}                                      → sign one out
//! POST   /api/logout                                            → end this token's device
//! ```
//! Every failure is a JSON body `{"error": kind, "message": words, ...}`; a 401 carries
//! `WWW-Authenticate: Bearer` (RFC 6750), with `error="invalid_token"` when a token was refused.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{
        FromRequest, FromRequestParts, Path, RawQuery, Request, State, rejection::JsonRejection,
    },
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{any, delete, get, post},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tower_cookies::Cookies;
use utoipa::ToSchema;

use super::state::AppState;
use crate::{
    auth::{
        Credentials, CurrentUser, Recognition,
        jwt::cookies::REFRESH_PATH,
        jwt::refresh::{RefreshRefusal, TokenPair},
    },
    core::client::{ClientInfo, accepts_html},
    error::{AppError, ErrorBody, FieldError},
    model::{ActivityPage, DeviceView, Killed, Mode, SessionStoreKind},
    nav::{login_url, safe_next},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(REFRESH_PATH, post(browser_refresh))
        .route("/api/users", post(create_user))
        .route("/api/token", post(issue_token))
        .route("/api/token/refresh", post(refresh_token))
        .route("/api/me", get(me))
        .route("/api/devices", get(list_devices))
        .route("/api/devices/{id}", delete(delete_device))
        .route("/api/activity", get(list_activity))
        .route("/api/logout", post(logout))
        .route("/api/openapi.json", get(super::openapi::document))
        .route("/readyz", get(readiness))
        .route("/healthz", get(serving))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/api/{*rest}", any(no_such_endpoint))
}

/// A page of its own, outside the app (no hydration): the site's style, one card, and `after`
/// (a script, or nothing) at the end of the body. `title` and `card` are HTML already escaped.
fn plain_page(title: &str, card: &str, after: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · ticketbooth</title>
<link rel="stylesheet" href="/pkg/ticketbooth.css">
</head>
<body>
<main>
<section class="card narrow">
{card}
</section>
</main>
{after}</body>
</html>"#
    )
}

/// The page a browser gets when it asks for a page with an expired access token: it posts the
/// refresh form at once (with JavaScript) or on a click (without), then lands on `next`.
pub fn refresh_page(next: &str) -> Response {
    let next = escape_html(next);
    let card = format!(
        r#"<h1>Renewing your sign-in…</h1>
<p>Your access token has expired. Your browser is exchanging its refresh token for a new pair,
and then goes on to <code>{next}</code>.</p>
<form method="post" action="/auth/refresh" id="refresh">
<input type="hidden" name="next" value="{next}">
<noscript><button type="submit" class="button">Continue</button></noscript>
</form>"#
    );
    let after = "<script>document.getElementById(\"refresh\").submit();</script>\n";
    Html(plain_page("Renewing your sign-in", &card, after)).into_response()
}

/// A failure as a page, for a browser that asked for one before any page could render (the
/// session store unreachable while recognising the request): the message, the status and its
/// headers (`Retry-After`), and a way to try again.
pub fn error_page(error: &AppError) -> Response {
    let message = escape_html(&error.to_string());
    let heading = if error.status() == 503 {
        "Unavailable for a moment"
    } else {
        "Something went wrong"
    };
    let card = format!(
        r#"<h1>{heading}</h1>
<p class="alert" role="alert" data-testid="error-page">{message}</p>
<p><a class="button" href="">Try again</a></p>"#
    );
    let mut response = (
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Html(plain_page(heading, &card, "")),
    )
        .into_response();
    error.add_headers(response.headers_mut());
    response
}

/// The public keys that verify this server's access tokens (RFC 7517), for another service or
/// instance to verify them without the power to sign. Under HS256 the set is empty: a shared
/// secret is never published. Cached for five minutes; a key stays listed until the last token
/// it signed has expired.
async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.auth.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// What this server depends on, and whether each answers now.
#[derive(Serialize)]
pub struct Readiness {
    pub ready: bool,
    /// The database (users, refresh tokens, the log; sessions when they are kept there).
    pub database: bool,
    /// Where cookie sessions are kept, and whether it answers.
    pub session_store: SessionStoreKind,
    pub session_store_up: bool,
    /// This server is stopping (SIGTERM): it still answers, but wants no new requests.
    pub draining: bool,
}

/// Whether the server can serve every request now: 200, or 503 naming what is down or that it
/// is stopping (a load balancer takes the server out of rotation meanwhile).
async fn readiness(State(state): State<AppState>) -> Response {
    let (database, session_store_up) = state.auth.readiness().await;
    let draining = state.draining.load(std::sync::atomic::Ordering::Relaxed);
    let readiness = Readiness {
        ready: database && session_store_up && !draining,
        database,
        session_store: state.auth.session_settings().store,
        session_store_up,
        draining,
    };
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness)).into_response()
}

/// Whether a load balancer should send this instance requests: 200 while it serves, 503 once
/// it is stopping (draining). Unlike `/readyz` it asks no store: a database or Redis outage is
/// every instance's at once, and a balancer that took them all out would answer every request
/// with its own 503, even the ones that work without the store (a JWT is checked by its
/// signature alone).
async fn serving(State(state): State<AppState>) -> Response {
    let draining = state.draining.load(std::sync::atomic::Ordering::Relaxed);
    let status = if draining {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(serde_json::json!({ "serving": !draining }))).into_response()
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[derive(Deserialize, Default)]
struct RefreshForm {
    next: Option<String>,
}

/// What the request presented, as the recognition middleware read it.
pub struct Presented(pub Credentials);

/// Who is on the other end, as the recognition middleware worked out.
pub struct Client(pub ClientInfo);

fn from_extensions<T: Clone + Send + Sync + 'static>(parts: &Parts) -> Result<T, AppError> {
    parts.extensions.get::<T>().cloned().ok_or_else(|| {
        tracing::error!("the recognition middleware is missing from the router");
        AppError::Internal
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Presented {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        from_extensions(parts).map(Presented)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        from_extensions(parts).map(Client)
    }
}

/// The user of a JSON API request. The API is protected by Bearer tokens (RFC 6750), so a
/// request without credentials gets a 401 with the `Bearer` challenge that says how to
/// authenticate; the pages' server functions, used by cookie-session browsers too, do not.
pub struct ApiUser(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        Recognition::require(parts)
            .map(ApiUser)
            .map_err(bearer_challenge)
    }
}

/// The response of `error`, with the API's plain `Bearer` challenge when no credentials were
/// presented at all (a refused token brings its own `invalid_token` challenge).
fn bearer_challenge(error: AppError) -> Response {
    let challenge = matches!(error, AppError::Unauthenticated);
    let mut response = error.into_response();
    if challenge {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="ticketbooth""#),
        );
    }
    response
}

/// `POST /auth/refresh`: the only request that carries the refresh cookie. A form post (the
/// refresh page) is redirected to `next`, or to the login page if the refresh fails; a script
/// (the server-function client) gets 204 or 401.
async fn browser_refresh(
    State(state): State<AppState>,
    Presented(presented): Presented,
    Client(client): Client,
    cookies: Cookies,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: RefreshForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let next = safe_next(form.next.as_deref());
    let page = accepts_html(&headers);
    match state.auth.refresh_browser(&presented, &client).await {
        Ok(Ok(changes)) => {
            changes.apply(&cookies);
            if page {
                Redirect::to(&next).into_response()
            } else {
                StatusCode::NO_CONTENT.into_response()
            }
        }
        Ok(Err((refusal, changes))) => {
            changes.apply(&cookies);
            if page && refusal.signs_out() {
                Redirect::to(&login_url(&next)).into_response()
            } else {
                refusal.into_error().into_response()
            }
        }
        Err(error) => error.into_response(),
    }
}

/// `axum::Json`, with its rejections told as [`AppError`]s: malformed JSON is 400, JSON of the
/// wrong shape (missing fields, wrong types) is 422, a body that is not JSON at all is 400.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::JsonDataError(error)) => Err(AppError::Invalid {
                fields: vec![FieldError {
                    field: "body".into(),
                    message: error.body_text(),
                }],
            }),
            Err(JsonRejection::JsonSyntaxError(error)) => Err(AppError::BadRequest {
                reason: error.body_text(),
            }),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::BadRequest {
                reason: "send JSON with Content-Type: application/json".into(),
            }),
            Err(other) => Err(AppError::BadRequest {
                reason: other.body_text(),
            }),
        }
    }
}

/// A username and a password: a new account's, or one signing in.
#[derive(Deserialize, ToSchema)]
pub(super) struct Login {
    /// 3 to 32 of `a-z A-Z 0-9 _ . -`.
    #[schema(min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.-]{3,32}$")]
    username: String,
    /// 8 to 128 characters (after Unicode NFKC normalisation) for a new account.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct RefreshRequest {
    /// The refresh token of the last pair issued (each is good for one exchange).
    refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct Account {
    id: i64,
    username: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct TokenResponse {
    /// A signed JWT for `Authorization: Bearer`.
    access_token: String,
    /// Opaque; exchange it at `/api/token/refresh` for the next pair.
    refresh_token: String,
    /// Always `Bearer`.
    #[schema(value_type = String, pattern = "^Bearer$")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// Seconds until the refresh token expires.
    refresh_expires_in: i64,
}

impl TokenResponse {
    fn of(pair: TokenPair, now: i64) -> Json<Self> {
        Json(TokenResponse {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: "Bearer",
            expires_in: pair.access_expires_at - now,
            refresh_expires_in: pair.refresh_expires_at - now,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub(super) struct Me {
    id: i64,
    username: String,
    role: String,
    mode: Mode,
    device_id: String,
}

/// Creates an account.
#[utoipa::path(
    post, path = "/api/users", tag = "accounts", operation_id = "create_user",
    request_body = Login,
    responses(
        (status = 201, description = "The account exists; sign in with `/api/token`.", body = Account),
        (status = 409, description = "The username is taken (letter case aside).", body = ErrorBody),
        (status = 422, description = "The username or password breaks the rules.", body = ErrorBody),
        (status = 429, description = "Too many accounts created from this network lately.", body = ErrorBody,
            headers(("Retry-After" = i64, description = "Seconds until the next may be tried"))),
        (status = 503, description = "The password hasher is busy.", body = ErrorBody,
            headers(("Retry-After" = i64, description = "Seconds to wait"))),
    )
)]
pub(super) async fn create_user(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(credentials): ApiJson<Login>,
) -> Result<(StatusCode, Json<Account>), AppError> {
    let user = state
        .auth
        .create_account(&client.ip, &credentials.username, credentials.password)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Account {
            id: user.id,
            username: user.username,
        }),
    ))
}

/// Signs in: a first access and refresh token pair, a new device of the JWT mode.
#[utoipa::path(
    post, path = "/api/token", tag = "tokens", operation_id = "issue_token",
    request_body = Login,
    responses(
        (status = 200, description = "A new token pair.", body = TokenResponse),
        (status = 401, description = "Wrong username or password (the two are not told apart).", body = ErrorBody),
        (status = 409, description = "The account is signed in on as many devices as its policy allows, and the policy refuses more (`device_limit`, with the `limit`).", body = ErrorBody),
        (status = 422, description = "The body is JSON of the wrong shape.", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins lately.", body = ErrorBody,
            headers(("Retry-After" = i64, description = "Seconds until the next may be tried"))),
        (status = 503, description = "The password hasher is busy.", body = ErrorBody,
            headers(("Retry-After" = i64, description = "Seconds to wait"))),
    )
)]
pub(super) async fn issue_token(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(credentials): ApiJson<Login>,
) -> Result<Json<TokenResponse>, AppError> {
    let pair = state
        .auth
        .sign_in_for_tokens(&client, &credentials.username, credentials.password)
        .await?;
    Ok(TokenResponse::of(pair, state.clock.now()))
}

/// Exchanges a refresh token for the next pair. Within a few seconds, the same token gives the
/// same successor again; later, a spent token revokes its whole family (someone copied it).
#[utoipa::path(
    post, path = "/api/token/refresh", tag = "tokens", operation_id = "refresh_token",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "The next token pair.", body = TokenResponse),
        (status = 401, description = "The refresh token is unknown, expired, spent or revoked.", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer ... error=\"invalid_token\"`"))),
        (status = 422, description = "The body is JSON of the wrong shape.", body = ErrorBody),
        (status = 429, description = "This device refreshes too often.", body = ErrorBody,
            headers(("Retry-After" = i64, description = "Seconds until the next may be tried"))),
    )
)]
pub(super) async fn refresh_token(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, AppError> {
    let pair = state
        .auth
        .refresh(&request.refresh_token, &client)
        .await?
        .map_err(RefreshRefusal::into_error)?;
    Ok(TokenResponse::of(pair, state.clock.now()))
}

/// Who the presented token says the caller is.
#[utoipa::path(
    get, path = "/api/me", tag = "devices", operation_id = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller.", body = Me),
        (status = 401, description = "No token, or one that was refused.", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The Bearer challenge (RFC 6750)"))),
    )
)]
pub(super) async fn me(ApiUser(current): ApiUser) -> Json<Me> {
    Json(Me {
        id: current.user_id,
        username: current.username,
        role: current.role,
        mode: current.mode,
        device_id: current.device_id,
    })
}

/// Everywhere the caller is signed in, in both modes, most recently active first.
#[utoipa::path(
    get, path = "/api/devices", tag = "devices", operation_id = "list_devices",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's devices.", body = Vec<DeviceView>),
        (status = 401, description = "No token, or one that was refused.", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The Bearer challenge (RFC 6750)"))),
    )
)]
pub(super) async fn list_devices(
    State(state): State<AppState>,
    ApiUser(current): ApiUser,
) -> Result<Json<Vec<DeviceView>>, AppError> {
    Ok(Json(state.auth.devices(&current).await?))
}

/// Which page of the activity log, and about which device.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ActivityQuery {
    /// 1-based; 50 entries a page.
    #[param(minimum = 1, maximum = 1000)]
    page: Option<u32>,
    /// Only the entries about this device (an id from `/api/devices`).
    #[param(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]+$")]
    device: Option<String>,
}

/// What happened to the caller's account, newest first: sign-ins, wrong passwords (how many
/// and from where), sign-outs, devices signed out and by which device, password changes,
/// refresh-token reuse, mode switches. No entry holds a secret.
#[utoipa::path(
    get, path = "/api/activity", tag = "devices", operation_id = "list_activity",
    security(("bearer" = [])),
    params(ActivityQuery),
    responses(
        (status = 200, description = "A page of the log.", body = ActivityPage),
        (status = 401, description = "No token, or one that was refused.", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The Bearer challenge (RFC 6750)"))),
        (status = 422, description = "A page out of range or a malformed device id.", body = ErrorBody),
    )
)]
pub(super) async fn list_activity(
    State(state): State<AppState>,
    ApiUser(current): ApiUser,
    RawQuery(query): RawQuery,
) -> Result<Json<ActivityPage>, AppError> {
    let query: ActivityQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
        .map_err(|error| AppError::bad_request(&error.to_string()))?;
    let page = state
        .auth
        .activity()
        .page(
            current.user_id,
            query.device.as_deref(),
            query.page.unwrap_or(1),
        )
        .await?;
    Ok(Json(page))
}

/// Signs a device out; for the caller's own device, that is a logout. A killed device's
/// leftover token cannot: its family must be live.
#[utoipa::path(
    delete, path = "/api/devices/{id}", tag = "devices", operation_id = "delete_device",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "A device id from `/api/devices`")),
    responses(
        (status = 200, description = "The device is signed out; a JWT device's last access token works until `access_valid_until`.", body = Killed),
        (status = 401, description = "No token, one that was refused, or one whose device was already signed out.", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The Bearer challenge (RFC 6750)"))),
        (status = 404, description = "No such device of the caller.", body = ErrorBody),
    )
)]
pub(super) async fn delete_device(
    State(state): State<AppState>,
    Presented(presented): Presented,
    Client(client): Client,
    ApiUser(current): ApiUser,
    cookies: Cookies,
    Path(id): Path<String>,
) -> Result<Json<Killed>, AppError> {
    let current = state.auth.confirm_live(current).await?;
    let (killed, changes) = state.auth.kill(&presented, &client, &current, &id).await?;
    changes.apply(&cookies);
    Ok(Json(killed))
}

/// Ends the device of the token presented, even an expired one; 401 when no token is, or one
/// this server did not sign.
#[utoipa::path(
    post, path = "/api/logout", tag = "devices", operation_id = "logout",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The token's device is signed out."),
        (status = 401, description = "No token, or one this server did not sign.", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The Bearer challenge (RFC 6750)"))),
    )
)]
pub(super) async fn logout(
    State(state): State<AppState>,
    Presented(presented): Presented,
    Client(client): Client,
    cookies: Cookies,
) -> Response {
    match state.auth.sign_out_token_holder(&presented, &client).await {
        Ok(changes) => {
            changes.apply(&cookies);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => bearer_challenge(error),
    }
}

async fn no_such_endpoint() -> AppError {
    AppError::NotFound
}
