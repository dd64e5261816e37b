//! The server-function client: on a 401 with a `WWW-Authenticate` challenge, renew the tokens
//! once (`POST /auth/refresh`, the only request that carries the refresh cookie) and send the
//! call again. That is the whole "401 → refresh → retry" flow of JWT mode; in cookie-session mode
//! the refresh fails (there is no refresh cookie) and the 401 stands.
//!
//! A `fetch` request's body can be read once, so the call is captured first (method, path,
//! content type, accepted type, text body) and rebuilt for each attempt. Our server functions
//! all send text (URL-encoded forms or query strings); that is all this client sends again.

#[cfg(not(feature = "hydrate"))]
pub use leptos::server_fn::client::browser::BrowserClient as RefreshingClient;

#[cfg(feature = "hydrate")]
pub use browser::RefreshingClient;

#[cfg(feature = "hydrate")]
mod browser {
    use std::{cell::RefCell, future::Future};

    use futures::{
        FutureExt as _,
        future::{LocalBoxFuture, Shared},
    };
    use leptos::server_fn::{
        client::{Client, browser::BrowserClient},
        error::{FromServerFnError, IntoAppError as _, ServerFnErrorErr},
        request::{ClientReq, browser::BrowserRequest},
        response::{ClientRes, browser::BrowserResponse},
    };
    use send_wrapper::SendWrapper;
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen_futures::JsFuture;

    pub struct RefreshingClient;

    /// What is needed to send a call again.
    struct Captured {
        method: http::Method,
        path: String,
        query: String,
        content_type: String,
        accepts: String,
        body: Option<String>,
    }

    impl Captured {
        async fn read(request: BrowserRequest) -> Result<Self, String> {
            let request: web_sys::Request = request.into();
            let url = web_sys::Url::new(&request.url()).map_err(|_| "bad url".to_string())?;
            let headers = request.headers();
            let header = |name: &str| headers.get(name).ok().flatten().unwrap_or_default();
            let method = http::Method::from_bytes(request.method().as_bytes())
                .map_err(|error| error.to_string())?;
            let body = if method == http::Method::GET {
                None
            } else {
                let text = request.text().map_err(|_| "unreadable body".to_string())?;
                let text = JsFuture::from(text)
                    .await
                    .map_err(|_| "unreadable body".to_string())?;
                Some(text.as_string().unwrap_or_default())
            };
            Ok(Captured {
                method,
                path: url.pathname(),
                query: url.search().trim_start_matches('?').to_owned(),
                content_type: header("Content-Type"),
                accepts: header("Accept"),
                body,
            })
        }

        fn build<E: FromServerFnError>(&self) -> Result<BrowserRequest, E> {
            match &self.body {
                None => BrowserRequest::try_new_req_query(
                    &self.path,
                    &self.content_type,
                    &self.accepts,
                    &self.query,
                    self.method.clone(),
                ),
                Some(body) => BrowserRequest::try_new_req_text(
                    &self.path,
                    &self.content_type,
                    &self.accepts,
                    body.clone(),
                    self.method.clone(),
                ),
            }
        }
    }

    /// A refused credential that a refresh may cure: 401 with a Bearer challenge. A wrong
    /// password is 401 without one.
    fn needs_refresh<E: FromServerFnError>(response: &BrowserResponse) -> bool {
        ClientRes::<E>::status(response) == 401
            && response.generate_headers().contains_key("www-authenticate")
    }

    thread_local! {
        /// The refresh under way, shared by every call that meets a 401 meanwhile: one refresh
        /// for a page whose three calls all find the access token expired.
        static REFRESHING: RefCell<Option<Shared<LocalBoxFuture<'static, bool>>>> =
            const { RefCell::new(None) };
    }

    async fn post_refresh() -> bool {
        let Some(window) = web_sys::window() else {
            return false;
        };
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_credentials(web_sys::RequestCredentials::SameOrigin);
        let Ok(response) =
            JsFuture::from(window.fetch_with_str_and_init("/auth/refresh", &init)).await
        else {
            return false;
        };
        response
            .dyn_into::<web_sys::Response>()
            .is_ok_and(|response| response.ok())
    }

    async fn refresh_once() -> bool {
        let refresh = REFRESHING.with(|slot| {
            slot.borrow_mut()
                .get_or_insert_with(|| post_refresh().boxed_local().shared())
                .clone()
        });
        let renewed = refresh.await;
        REFRESHING.with(|slot| slot.borrow_mut().take());
        renewed
    }

    impl<E, IS, OS> Client<E, IS, OS> for RefreshingClient
    where
        E: FromServerFnError,
        IS: FromServerFnError,
        OS: FromServerFnError,
    {
        type Request = BrowserRequest;
        type Response = BrowserResponse;

        fn send(request: Self::Request) -> impl Future<Output = Result<Self::Response, E>> + Send {
            SendWrapper::new(async move {
                let captured = Captured::read(request)
                    .await
                    .map_err(|reason| ServerFnErrorErr::Request(reason).into_app_error())?;
                let first =
                    <BrowserClient as Client<E, IS, OS>>::send(captured.build::<E>()?).await?;
                if !needs_refresh::<E>(&first) || !refresh_once().await {
                    return Ok(first);
                }
                <BrowserClient as Client<E, IS, OS>>::send(captured.build::<E>()?).await
            })
        }

        fn open_websocket(
            path: &str,
        ) -> impl Future<
            Output = Result<
                (
                    impl futures::Stream<Item = Result<bytes::Bytes, bytes::Bytes>> + Send + 'static,
                    impl futures::Sink<bytes::Bytes> + Send + 'static,
                ),
                E,
            >,
        > + Send {
            <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
        }

        fn spawn(future: impl Future<Output = ()> + Send + 'static) {
            <BrowserClient as Client<E, IS, OS>>::spawn(future)
        }
    }
}
