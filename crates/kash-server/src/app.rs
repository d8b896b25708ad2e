//! Assembly: state, router, serving, background tasks and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use kash_service::Services;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::http::{body, etag, fallback, problem, request_id, timeout};
use crate::killswitch::KillSwitches;
use crate::limiter::guarded::Breaker;
use crate::limiter::memory::MemoryStore;
use crate::limiter::redis::RedisStore;
use crate::limiter::LimiterStore;
use crate::metrics::{self, Metrics};
use crate::openapi::ApiDoc;
use crate::public_api;
use crate::routes::{
    account, account_keys, embeds, infra, markets, org_analytics, organizations, portfolio,
    public_markets, public_orgs, public_social, public_threads, quotes, redemptions, traces,
    trades, webhooks,
};
use crate::state::AppState;
use crate::usage::UsageRecorder;
use crate::workers::webhooks::WebhookWorker;
use crate::{console, gate, Role};

pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The limiter store the settings ask for: Redis when configured, else in-process.
pub fn limiter_store(svc: &Services) -> anyhow::Result<Arc<dyn LimiterStore>> {
    Ok(match &svc.settings.redis_url {
        Some(url) => Arc::new(RedisStore::new(url, "kash:")?),
        None => Arc::new(MemoryStore::new()),
    })
}

/// The routers that serve, and the OpenAPI document generated from them.
struct Routers {
    /// `/v1` routes behind the gate.
    gated: Router<AppState>,
    /// Public infrastructure routes.
    public: Router<AppState>,
    /// The console's JSON routes (`/api/account/*`) behind the session guard.
    console_api: Router<AppState>,
    /// The anonymous Embed API (`/api/*`) behind its per-IP limits.
    public_api: Router<AppState>,
    doc: utoipa::openapi::OpenApi,
}

/// The authenticated `/v1` routes (behind the gate), the public infrastructure routes and the
/// console's JSON routes.
fn routers(state: &AppState) -> Routers {
    let (gated, gated_doc) = OpenApiRouter::<AppState>::new()
        .routes(routes!(account::usage))
        .routes(routes!(markets::list))
        .routes(routes!(markets::get))
        .routes(routes!(markets::predictions))
        .routes(routes!(markets::cancel))
        .routes(routes!(quotes::quote))
        .routes(routes!(trades::create, trades::list))
        .routes(routes!(trades::get))
        .routes(routes!(trades::confirm_trade))
        .routes(routes!(traces::get))
        .routes(routes!(redemptions::create))
        .routes(routes!(portfolio::portfolio))
        .routes(routes!(portfolio::positions_list))
        .routes(routes!(webhooks::list_events))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(organizations::me))
        .routes(routes!(organizations::embeds))
        .routes(routes!(organizations::earnings))
        .routes(routes!(organizations::revenue_events))
        .routes(routes!(org_analytics::analytics))
        .split_for_parts();
    let gated = gated
        .route_layer(from_fn(etag::layer))
        .route_layer(from_fn_with_state(state.clone(), gate::gate));
    let (public, public_doc) = OpenApiRouter::<AppState>::new()
        .routes(routes!(infra::health))
        .routes(routes!(infra::ready))
        .routes(routes!(infra::metrics))
        .routes(routes!(infra::openapi_index))
        .routes(routes!(infra::openapi_version))
        .split_for_parts();
    let (console_api, console_doc) = OpenApiRouter::<AppState>::new()
        .routes(routes!(account_keys::list, account_keys::create))
        .routes(routes!(account_keys::update, account_keys::revoke))
        .split_for_parts();
    let console_api = console_api
        .route_layer(from_fn_with_state(state.clone(), console::guard::api_guard))
        .layer(from_fn(console::security_headers));
    let (public_api, public_api_doc) = OpenApiRouter::<AppState>::new()
        .routes(routes!(public_threads::list))
        .routes(routes!(public_threads::get))
        .routes(routes!(public_markets::thread_markets))
        .routes(routes!(public_markets::thread_chapters))
        .routes(routes!(public_markets::list))
        .routes(routes!(public_markets::featured))
        .routes(routes!(public_social::trending))
        .routes(routes!(public_social::market_link))
        .routes(routes!(public_social::batch_links))
        .routes(routes!(public_social::thread_links))
        .routes(routes!(public_markets::get))
        .routes(routes!(public_markets::quote))
        .routes(routes!(public_markets::organization_markets))
        .routes(routes!(public_orgs::organization))
        .routes(routes!(public_orgs::organization_partners))
        .routes(routes!(public_orgs::organization_threads))
        .routes(routes!(public_orgs::partner))
        .routes(routes!(public_orgs::partner_threads))
        .routes(routes!(embeds::render))
        .routes(routes!(embeds::click))
        .split_for_parts();
    // Unknown paths under /api are metered and answered in the anonymous API's shape too.
    let public_api = public_api
        .route("/api/{*rest}", axum::routing::any(public_api::not_found))
        .route_layer(from_fn_with_state(state.clone(), public_api::limits::layer));
    let mut doc = ApiDoc::openapi();
    doc.merge(gated_doc);
    doc.merge(public_doc);
    doc.merge(console_doc);
    doc.merge(public_api_doc);
    doc.merge(<webhooks::WebhookPayloads as OpenApi>::openapi());
    Routers {
        gated,
        public,
        console_api,
        public_api,
        doc,
    }
}

/// Builds the state; the OpenAPI document is generated from the same routers that serve.
pub async fn build_state(svc: Services, store: Arc<dyn LimiterStore>) -> anyhow::Result<AppState> {
    let kill_switches = KillSwitches::default();
    kill_switches.refresh(&svc.db).await?;
    let mut state = AppState {
        svc: svc.clone(),
        limiter: Arc::new(Breaker::new(store)),
        kill_switches,
        usage: Arc::new(UsageRecorder::default()),
        metrics: Arc::new(Metrics::new()),
        request_timeout: REQUEST_TIMEOUT,
        openapi: Arc::new(utoipa::openapi::OpenApi::default()),
        embeds: Arc::default(),
        embed_targets: Arc::default(),
        embed_viewers: Arc::default(),
        trades: kash_service::trading::batch::Batcher::start(svc.clone()),
    };
    let mut doc = routers(&state).doc;
    doc.merge(infra_doc_only());
    state.openapi = Arc::new(doc);
    Ok(state)
}

/// `/v1/openapi.json` itself is served by a plain route; describe it too.
fn infra_doc_only() -> utoipa::openapi::OpenApi {
    let (_, doc) = OpenApiRouter::<AppState>::new()
        .routes(routes!(infra::openapi))
        .split_for_parts();
    doc
}

pub fn router(state: AppState, role: Role) -> Router {
    let Routers {
        gated,
        public,
        console_api,
        public_api,
        ..
    } = routers(&state);
    let mut app = Router::new()
        .merge(public)
        .route("/v1/openapi.json", axum::routing::get(infra::openapi));
    if role.serves_api() {
        app = app
            .merge(gated)
            .merge(SwaggerUi::new("/v1/docs").config(
                utoipa_swagger_ui::Config::from("/v1/openapi.json").try_it_out_enabled(true),
            ))
            .merge(console_api)
            .merge(public_api)
            .merge(console::router())
            .merge(console::assets_router());
    }
    app.route_layer(from_fn(metrics::label_route))
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        // Outermost first: request id, metrics, problem rendering, deadline, body limit.
        .layer(from_fn(body::limit))
        .layer(from_fn_with_state(state.clone(), timeout::layer))
        // Inside problem rendering: the anonymous API writes its own error shape.
        .layer(from_fn(public_api::cors::layer))
        .layer(from_fn_with_state(state.clone(), problem::render))
        .layer(from_fn_with_state(state.clone(), metrics::observe))
        .layer(from_fn(request_id::layer))
        .with_state(state)
}

/// A running server: its address, its state, and the means to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests, stops the workers and flushes counters.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        // The HTTP task has finished every in-flight request by now: whatever they counted
        // is written here, so no render accepted before the signal is lost.
        if let Err(err) = self.state.embeds.flush(&self.state.svc.db).await {
            tracing::error!(error = %err, "embed counters could not be written at shutdown");
        }
    }

    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }
}

pub async fn start(state: AppState, listener: TcpListener, role: Role) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let app = router(state.clone(), role);
    let mut tasks = Vec::new();
    let server_stop = stop.clone();
    tasks.push(tokio::spawn(async move {
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { server_stop.cancelled().await })
        .await;
        if let Err(err) = served {
            tracing::error!(error = %err, "HTTP server stopped with an error");
        }
    }));
    tasks.push(tokio::spawn(
        state
            .kill_switches
            .clone()
            .run(state.svc.db.clone(), stop.clone()),
    ));
    tasks.push(tokio::spawn(
        state.usage.clone().run(state.svc.db.clone(), stop.clone()),
    ));
    if role.serves_api() {
        tasks.push(tokio::spawn(state.embeds.clone().run(
            state.svc.db.clone(),
            Duration::from_millis(state.svc.settings.embed_flush_ms),
            state.metrics.clone(),
            stop.clone(),
        )));
    }
    if role.runs_workers() {
        let worker = WebhookWorker::new(state.svc.clone(), state.metrics.clone())?;
        tasks.push(tokio::spawn(worker.run(stop.clone())));
        tasks.push(tokio::spawn(crate::workers::trading::run(
            state.svc.clone(),
            stop.clone(),
        )));
    }
    Ok(Running {
        addr,
        state,
        stop,
        tasks,
    })
}
