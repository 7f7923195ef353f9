//! Fencing at the narrowest place every write passes: the Kubernetes client itself.
//!
//! Every binary's client (the one in [`crate::runtime::Runtime`], shared by server-side
//! apply, the event writer, Secret and label writes, deletions) is built with
//! [`FenceLayer`]: a request with a writing method (POST, PUT, PATCH, DELETE) is refused,
//! without reaching the network, unless [`LeaderGate::is_leading`] says yes at the moment the
//! request is handed to the HTTP stack. Reads (GET, and watches) always pass, so a standby's
//! caches stay warm. Only the elector writes the Lease, with a client of its own.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Method, Request};
use kube::client::Body;
use tower::{BoxError, Layer, Service};

use super::LeaderGate;

/// The error a fenced write fails with (inside `kube::Error::Service`).
#[derive(Debug, thiserror::Error)]
#[error("not the leader: {method} {path} refused (another replica holds the Lease)")]
pub struct NotLeader {
    method: Method,
    path: String,
}

/// Whether `error` is a write refused by the fence (for quieter logs on a standby).
pub fn is_not_leader(error: &kube::Error) -> bool {
    use std::error::Error as _;
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(current) = source {
        if current.is::<NotLeader>() {
            return true;
        }
        source = current.source();
    }
    false
}

/// Whether `method` changes something on the server.
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Wraps a client's HTTP service with the fence of `gate`.
#[derive(Clone)]
pub struct FenceLayer {
    gate: LeaderGate,
}

impl FenceLayer {
    /// A layer refusing writes while `gate` is closed.
    pub fn new(gate: LeaderGate) -> Self {
        Self { gate }
    }
}

impl<S> Layer<S> for FenceLayer {
    type Service = Fence<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Fence {
            inner,
            gate: self.gate.clone(),
        }
    }
}

/// The fenced service (see the module docs).
#[derive(Clone)]
pub struct Fence<S> {
    inner: S,
    gate: LeaderGate,
}

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

impl<S> Service<Request<Body>> for Fence<S>
where
    S: Service<Request<Body>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Boxed<S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if is_write(request.method()) && !self.gate.is_leading() {
            let refused = NotLeader {
                method: request.method().clone(),
                path: request.uri().path().to_owned(),
            };
            tracing::debug!(error = %refused, "write fenced");
            return Box::pin(async move { Err(refused.into()) });
        }
        let future = self.inner.call(request);
        Box::pin(async move { future.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// An HTTP service that answers every request with 200 and counts the calls.
    #[derive(Clone, Default)]
    struct Counting(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl Service<Request<Body>> for Counting {
        type Response = http::Response<Body>;
        type Error = BoxError;
        type Future = Boxed<Self::Response>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request<Body>) -> Self::Future {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async { Ok(http::Response::new(Body::empty())) })
        }
    }

    fn request(method: Method) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri("/api/v1/namespaces/openstack/secrets/x")
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn a_standby_reads_but_its_writes_never_reach_the_server() {
        let counting = Counting::default();
        let gate = LeaderGate::elected();
        let mut fence = FenceLayer::new(gate.clone()).layer(counting.clone());
        assert!(fence.call(request(Method::GET)).await.is_ok());
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let error = fence.call(request(method.clone())).await.unwrap_err();
            assert!(error.is::<NotLeader>(), "{method}: {error}");
        }
        assert_eq!(counting.0.load(std::sync::atomic::Ordering::SeqCst), 1);

        let now = Instant::now();
        gate.extend(now + Duration::from_secs(5), now);
        assert!(fence.call(request(Method::PATCH)).await.is_ok());
        assert_eq!(counting.0.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn without_election_every_write_passes() {
        let counting = Counting::default();
        let mut fence = FenceLayer::new(LeaderGate::always()).layer(counting.clone());
        assert!(fence.call(request(Method::DELETE)).await.is_ok());
    }

    #[test]
    fn a_fenced_write_is_recognised_inside_a_kube_error() {
        let error = kube::Error::Service(Box::new(NotLeader {
            method: Method::PATCH,
            path: "/x".into(),
        }));
        assert!(is_not_leader(&error));
        assert!(!is_not_leader(
            &kube::Error::LinesCodecMaxLineLengthExceeded
        ));
    }
}
