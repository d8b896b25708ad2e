//! Prometheus metrics (`GET /metrics`): requests and latency by route and status, limiter
//! decisions, and (as they arrive) trades and webhook deliveries.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::http::request_id::RequestContext;
use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LatencyLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub decision: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RouteLabels, Counter>,
    pub latency: Family<LatencyLabels, Histogram>,
    pub limiter: Family<DecisionLabels, Counter>,
    pub webhook_deliveries: Family<OutcomeLabels, Counter>,
    pub trades: Family<StatusLabels, Counter>,
    pub embed_events: Family<OutcomeLabels, Counter>,
    pub embed_flushes: Family<OutcomeLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kash");
        let requests = Family::<RouteLabels, Counter>::default();
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let limiter = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "limiter_decisions",
            "Rate-limit decisions (allowed, limited, unavailable, unmetered)",
            limiter.clone(),
        );
        let webhook_deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered or the failure code; circuit_open and no_url are postponements)",
            webhook_deliveries.clone(),
        );
        let trades = Family::<StatusLabels, Counter>::default();
        registry.register(
            "trades",
            "Trades answered by the trade routes, by the status they reached",
            trades.clone(),
        );
        let embed_events = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "embed_events",
            "Embed renders and clicks accepted (outcome render or click)",
            embed_events.clone(),
        );
        let embed_flushes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "embed_flushes",
            "Writes of the in-memory embed counters (outcome ok or failed; failed counts are retried)",
            embed_flushes.clone(),
        );
        Metrics {
            trades,
            registry,
            requests,
            latency,
            limiter,
            webhook_deliveries,
            embed_events,
            embed_flushes,
        }
    }

    pub fn limiter_decision(&self, decision: &'static str) {
        self.limiter
            .get_or_create(&DecisionLabels { decision })
            .inc();
    }

    pub fn count_trade(&self, status: &str) {
        self.trades
            .get_or_create(&StatusLabels {
                status: status.to_string(),
            })
            .inc();
    }

    pub fn webhook_outcome(&self, outcome: &'static str) {
        self.webhook_deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn embed_event(&self, outcome: &'static str) {
        self.embed_events
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn embed_flush(&self, outcome: &'static str) {
        self.embed_flushes
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// The matched route, carried out of the router in the response's extensions.
#[derive(Clone)]
pub struct RouteLabel(pub String);

/// Inner layer (route_layer): records which route matched.
pub async fn label_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

/// Outer layer: counts and times every request.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let started = req
        .extensions()
        .get::<RequestContext>()
        .map(|c| c.started)
        .unwrap_or_else(std::time::Instant::now);
    let response = next.run(req).await;
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map(|r| r.0.as_str())
        .unwrap_or("unmatched");
    state.metrics.observe(
        &method,
        route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
