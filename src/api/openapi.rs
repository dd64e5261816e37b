//! The JSON API describes itself: an OpenAPI 3.1 document generated from the handlers'
//! annotations and the types they read and write (utoipa), served at `/api/openapi.json`.
//!
//! What every operation shares is added here once, from the middleware that causes it: the
//! refusals any request can meet before its handler runs, and the links a client (or
//! Schemathesis, which `make test` runs against this document) follows from one answer to the
//! next operation.

use std::sync::LazyLock;

use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        HttpMethod, OpenApi as Document, RefOr, ResponseBuilder,
        link::LinkBuilder,
        security::{Http, HttpAuthScheme, SecurityScheme},
    },
};

use super::http;
use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ticketbooth JSON API",
        description = "Accounts, JWT access and refresh tokens, and devices, for scripts and \
                       curl. Every failure is a JSON body `{\"error\": kind, \"message\": words, \
                       ...}`; a 401 carries `WWW-Authenticate: Bearer` (RFC 6750).",
        license(name = "MIT")
    ),
    paths(
        http::create_user,
        http::issue_token,
        http::refresh_token,
        http::me,
        http::list_devices,
        http::delete_device,
        http::logout,
        http::list_activity,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerScheme, &SharedRefusals, &Links),
    tags(
        (name = "accounts", description = "Creating an account"),
        (name = "tokens", description = "Signing in and renewing a token pair"),
        (name = "devices", description = "The caller, and where the caller is signed in"),
    )
)]
struct ApiDoc;

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut document = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    camel_case_links(&mut document);
    serde_json::to_string_pretty(&document).expect("the document serialises")
});

/// utoipa 5.5 writes a Link's fields in snake_case (`operation_id`); OpenAPI spells them in
/// camelCase (`operationId`), and clients ignore a link they cannot read.
fn camel_case_links(document: &mut Value) {
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    let links = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation["responses"].as_object_mut())
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.get_mut("links").and_then(Value::as_object_mut))
        .flat_map(|links| links.values_mut())
        .filter_map(Value::as_object_mut);
    for link in links {
        for (snake, camel) in [
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
            ("request_body", "requestBody"),
        ] {
            if let Some(value) = link.remove(snake) {
                link.insert(camel.into(), value);
            }
        }
    }
}

/// `GET /api/openapi.json`
pub async fn document() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        DOCUMENT.as_str(),
    )
        .into_response()
}

/// The access token, as `Authorization: Bearer <token>`.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}

/// Answers the middleware may give before any handler runs (`src/server/middleware`).
struct SharedRefusals;

impl Modify for SharedRefusals {
    fn modify(&self, openapi: &mut Document) {
        for item in openapi.paths.paths.values_mut() {
            for (method, operation) in [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Delete, &mut item.delete),
            ] {
                let Some(operation) = operation else { continue };
                let mut refusals = vec![
                    (
                        "400",
                        "The request could not be read: malformed JSON, a body that is not \
                         JSON, or two `Authorization` headers (`invalid_request`).",
                    ),
                    ("408", "The request body did not arrive in time."),
                    ("413", "The request body is larger than 16 KiB."),
                ];
                if method != HttpMethod::Get {
                    refusals.push(("403", "A cross-origin request from a browser."));
                }
                for (status, description) in refusals {
                    operation
                        .responses
                        .responses
                        .entry(status.into())
                        .or_insert_with(|| RefOr::T(error_response(description)));
                }
            }
        }
    }
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// How one answer leads to the next operation: a new account signs in, a token pair is
/// refreshed with its own refresh token, a listed device can be signed out.
struct Links;

impl Modify for Links {
    fn modify(&self, openapi: &mut Document) {
        let links = [
            (
                "/api/users",
                HttpMethod::Post,
                "201",
                "SignIn",
                LinkBuilder::new()
                    .operation_id("issue_token")
                    .request_body(Some(json!({
                        "username": "$response.body#/username",
                        "password": "$request.body#/password",
                    })))
                    .description("Sign in to the account just created"),
            ),
            (
                "/api/token",
                HttpMethod::Post,
                "200",
                "Refresh",
                LinkBuilder::new()
                    .operation_id("refresh_token")
                    .request_body(Some(json!({
                        "refresh_token": "$response.body#/refresh_token",
                    })))
                    .description("Exchange the refresh token for the next pair"),
            ),
            (
                "/api/token/refresh",
                HttpMethod::Post,
                "200",
                "RefreshAgain",
                LinkBuilder::new()
                    .operation_id("refresh_token")
                    .request_body(Some(json!({
                        "refresh_token": "$response.body#/refresh_token",
                    })))
                    .description("Exchange the new refresh token in turn"),
            ),
            (
                "/api/devices",
                HttpMethod::Get,
                "200",
                "SignOutFirstDevice",
                LinkBuilder::new()
                    .operation_id("delete_device")
                    .parameter("id", "$response.body#/0/id")
                    .description("Sign the most recently active device out"),
            ),
        ];
        for (path, method, status, name, link) in links {
            let operation = openapi
                .paths
                .paths
                .get_mut(path)
                .and_then(|item| match method {
                    HttpMethod::Get => item.get.as_mut(),
                    HttpMethod::Post => item.post.as_mut(),
                    _ => None,
                });
            let Some(RefOr::T(response)) =
                operation.and_then(|operation| operation.responses.responses.get_mut(status))
            else {
                panic!("the API has no {status} answer to {path} to link from");
            };
            response.links.insert(name.into(), RefOr::T(link.build()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_link_names_an_operation_the_document_has() {
        let document: serde_json::Value = serde_json::from_str(&DOCUMENT).unwrap();
        assert_eq!(document["openapi"].as_str().map(|v| &v[..4]), Some("3.1."));
        let operations: Vec<&str> = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|operation| operation["operationId"].as_str())
            .collect();
        let mut links = 0;
        for item in document["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                for response in operation["responses"].as_object().unwrap().values() {
                    for link in response["links"]
                        .as_object()
                        .into_iter()
                        .flat_map(|l| l.values())
                    {
                        let target = link["operationId"].as_str().unwrap();
                        assert!(operations.contains(&target), "{target}");
                        links += 1;
                    }
                }
            }
        }
        assert_eq!(links, 4);
    }
}
