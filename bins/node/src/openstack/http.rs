//! One JSON request to an OpenStack API over the HTTP stack kube already builds (hyper,
//! rustls with the system's roots). Used by [`crate::openstack::keystone`] and the service
//! calls; nothing here knows about tokens beyond sending the header it is given.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// How long one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Longest body quoted in an error message.
const QUOTE: usize = 300;

/// An answer: status, the headers asked for, and the body as JSON (`Null` when empty or not
/// JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// The `X-Subject-Token` header (Keystone's token), if any.
    pub subject_token: Option<String>,
    /// The body.
    pub body: Value,
    /// The body's start, for error messages (API errors never echo credentials).
    pub text: String,
}

/// A shared HTTP(S) client.
#[derive(Clone)]
pub struct Http {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Http {
    /// A client trusting the system's root certificates.
    pub fn new() -> Result<Self, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("loading the system's root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Sends `method url` with the optional `token` and JSON `body`.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(url)
            .header("Accept", "application/json")
            .header("User-Agent", "rockoon-node");
        if let Some(token) = token {
            let mut value =
                HeaderValue::from_str(token).map_err(|_| "a token that is not a header value")?;
            value.set_sensitive(true);
            request = request.header("X-Auth-Token", value);
        }
        let payload = match body {
            Some(body) => {
                request = request.header("Content-Type", "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(payload))
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let call = async {
            let response = self.client.request(request).await.map_err(|e| {
                // The chain says why (refused, DNS, TLS); the request holds no secret.
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    message.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                message
            })?;
            let status = response.status();
            let subject_token = response
                .headers()
                .get("X-Subject-Token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let text: String = String::from_utf8_lossy(&bytes)
                .chars()
                .take(QUOTE)
                .collect();
            Ok::<_, String>(Answer {
                status,
                subject_token,
                body,
                text,
            })
        };
        tokio::time::timeout(TIMEOUT, call)
            .await
            .map_err(|_| format!("{method} {url}: no answer in {}s", TIMEOUT.as_secs()))?
            .map_err(|e| format!("{method} {url}: {e}"))
    }
}
