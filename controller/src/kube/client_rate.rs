//! A client-side rate limit on the Kubernetes API, as `--kube-qps` / `--kube-burst` set it: a
//! token bucket in front of the client's HTTP stack. The client queues every request behind one
//! service, so holding readiness here paces every request the controller sends (watches count
//! once, when they open). The API server's own priority and fairness still applies; this only
//! lets a platform team keep one controller below a share it chooses.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

/// A token bucket: `rate` tokens per second, at most `burst` saved up.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket. `rate` must be positive; `burst` is at least 1.
    pub fn new(rate: f64, burst: u32, now: Instant) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            at: now,
        }
    }

    /// Takes a token at `now`, or says how long until one is there.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// The layer; `None` rate means no client-side limit.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitLayer {
    qps: f32,
    burst: u32,
}

impl RateLimitLayer {
    /// At most `qps` requests per second on average, `burst` at once. A `qps` of 0 or less
    /// turns the limit off.
    pub fn new(qps: f32, burst: u32) -> RateLimitLayer {
        RateLimitLayer { qps, burst }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> RateLimited<S> {
        let bucket = (self.qps > 0.0)
            .then(|| TokenBucket::new(f64::from(self.qps), self.burst, Instant::now()));
        RateLimited {
            inner,
            bucket,
            sleep: None,
            granted: false,
        }
    }
}

/// The service the layer makes.
pub struct RateLimited<S> {
    inner: S,
    bucket: Option<TokenBucket>,
    sleep: Option<Pin<Box<Sleep>>>,
    /// A token was taken for the next call (readiness is kept until `call`).
    granted: bool,
}

impl<S, Req> Service<Req> for RateLimited<S>
where
    S: Service<Req>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        if let Some(bucket) = &mut self.bucket {
            while !self.granted {
                if let Some(sleep) = &mut self.sleep {
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.sleep = None;
                }
                match bucket.take(Instant::now()) {
                    Ok(()) => self.granted = true,
                    Err(wait) => self.sleep = Some(Box::pin(tokio::time::sleep(wait))),
                }
            }
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        self.granted = false;
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_gives_its_burst_then_paces_at_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 3, start);
        for _ in 0..3 {
            assert_eq!(bucket.take(start), Ok(()));
        }
        let wait = bucket.take(start).expect_err("empty");
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        assert_eq!(bucket.take(start + Duration::from_millis(100)), Ok(()));
        // Never more than the burst saved up, however long it was idle.
        let later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(bucket.take(later), Ok(()));
        }
        assert!(bucket.take(later).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_service_sends_no_more_than_the_rate() {
        use tower::ServiceExt;
        let (mock, mut handle) = tower_test::mock::pair::<u32, u32>();
        let mut svc = RateLimitLayer::new(5.0, 2).layer(mock);
        let start = Instant::now();
        let served = tokio::spawn(async move {
            let mut times = Vec::new();
            while let Some((req, respond)) = handle.next_request().await {
                times.push((req, Instant::now()));
                respond.send_response(req);
            }
            times
        });
        for i in 0..6u32 {
            let ready = svc.ready().await.expect("ready");
            let answer = ready.call(i).await.expect("answer");
            assert_eq!(answer, i);
        }
        drop(svc);
        let times = served.await.expect("join");
        let offsets: Vec<u128> = times
            .iter()
            .map(|(_, t)| t.duration_since(start).as_millis())
            .collect();
        // Two at once (the burst), then one every 200 ms.
        assert_eq!(offsets, vec![0, 0, 200, 400, 600, 800]);
    }

    #[tokio::test(start_paused = true)]
    async fn no_rate_means_no_wait() {
        use tower::ServiceExt;
        let (mock, mut handle) = tower_test::mock::pair::<u32, u32>();
        let mut svc = RateLimitLayer::new(0.0, 0).layer(mock);
        let start = Instant::now();
        let served = tokio::spawn(async move {
            while let Some((req, respond)) = handle.next_request().await {
                respond.send_response(req);
            }
        });
        for i in 0..100u32 {
            svc.ready()
                .await
                .expect("ready")
                .call(i)
                .await
                .expect("answer");
        }
        assert_eq!(Instant::now(), start);
        drop(svc);
        served.await.expect("join");
    }
}
