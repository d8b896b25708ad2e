//! `POST /v1/trades` (`api.md` §5): after the gate, in order — `Idempotency-Key` lookup,
//! `clientRequestId` lookup, validation, market exists and tradeable, outcome index, platform
//! ceiling, per-trade cap, daily cap, balance or position — then the high-value gate or the
//! execution. One transaction holds the idempotency record, the key's row lock (serialising its
//! cap checks), the market's row lock, the trade, its ledger posting and its events.

use std::time::Instant;

use kash_core::ids::{id_text, new_id};
use kash_core::money::Usdc;
use kash_core::{ErrorCode, Problem};
use kash_store::keys::ApiKeyRecord;
use kash_store::sqlx::AnyConnection;
use kash_store::trades::{self, TradeRecord};
use kash_store::{accruals, idempotency, ledger, markets, positions, StoreError};
use serde_json::{json, Map, Value};

use super::accounts::owner_account_cached;
use super::events::{self, trace_type};
use super::order::{self, Order, Spec};
use super::plan::{plan, Inputs, Limits};
use super::{ceiling_atomic, execute, CONFIRMATION_WINDOW_MS};
use crate::secrets::{hmac_hex, random_token};
use crate::{ServiceError, Services};

pub const ROUTE: &str = "POST /v1/trades";

/// Who places the trade.
pub struct Caller<'a> {
    pub key: &'a ApiKeyRecord,
    /// The API version that served the request (the webhook events' `apiVersion`).
    pub api_version: &'a str,
}

/// The answer to a trade request.
#[derive(Debug)]
pub enum Placed {
    /// `status` 201 (executed), 202 (awaiting confirmation, with `token`) or 200 (a replay of a
    /// trade that has moved on).
    Trade {
        trade: Box<TradeRecord>,
        status: u16,
        token: Option<String>,
        replay: bool,
    },
    /// A refusal that is part of the record (a domain problem, replayable under the key).
    Refused { problem: Problem, replay: bool },
}

/// A problem as an idempotency record keeps it.
fn problem_json(p: &Problem) -> String {
    json!({ "code": p.code.as_str(), "detail": p.detail, "extensions": p.extensions }).to_string()
}

fn problem_from_json(text: &str) -> Option<Problem> {
    let v: Value = serde_json::from_str(text).ok()?;
    let code = ErrorCode::parse(v.get("code")?.as_str()?)?;
    let mut p = Problem::new(code, v.get("detail")?.as_str()?.to_string());
    if let Some(Value::Object(ext)) = v.get("extensions") {
        p.extensions = ext.clone();
    }
    Some(p)
}

/// The trade as it stands now, for a replay.
fn current(svc: &Services, trade: TradeRecord, original: u16, replay: bool) -> Placed {
    if trade.status == "pending_confirmation" {
        let token = trade
            .confirm_token_enc
            .as_deref()
            .and_then(|sealed| svc.secrets.secret_box.open(sealed).ok());
        return Placed::Trade {
            trade: Box::new(trade),
            status: 202,
            token,
            replay,
        };
    }
    let status = if original == 202 { 200 } else { original };
    Placed::Trade {
        trade: Box::new(trade),
        status,
        token: None,
        replay,
    }
}

pub async fn place(
    svc: &Services,
    caller: &Caller<'_>,
    idempotency_key: Option<&str>,
    raw: &[u8],
) -> Result<Placed, ServiceError> {
    // A concurrent first use of the same clientRequestId loses the unique index race; the
    // second attempt then finds the winner's trade.
    match place_once(svc, caller, idempotency_key, raw).await {
        Err(ServiceError::Store(StoreError::Unique(c)))
            if c == "trades_owner_id_client_request_id_key" =>
        {
            place_once(svc, caller, idempotency_key, raw).await
        }
        other => other,
    }
}

async fn place_once(
    svc: &Services,
    caller: &Caller<'_>,
    idempotency_key: Option<&str>,
    raw: &[u8],
) -> Result<Placed, ServiceError> {
    let mut tx = svc.db.begin().await?;
    let (placed, finish) = decide(svc, &mut tx, caller, idempotency_key, raw).await?;
    if finish == Finish::Commit {
        tx.commit().await?;
    }
    Ok(placed)
}

/// Whether a decision's writes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Commit,
    /// Nothing to keep (a replay, or a refusal without an idempotency key to bind).
    Rollback,
}

/// Everything `POST /v1/trades` decides, inside the caller's transaction. An `Err` writes
/// nothing the caller may keep: roll back.
pub async fn decide(
    svc: &Services,
    conn: &mut AnyConnection,
    caller: &Caller<'_>,
    idempotency_key: Option<&str>,
    raw: &[u8],
) -> Result<(Placed, Finish), ServiceError> {
    let started = Instant::now();
    let now = svc.now_ms();
    let parsed = order::parse(raw);
    let identity = match &parsed {
        Ok(o) => order::identity(o),
        Err(_) => order::identity_of_invalid(raw),
    };
    let owner_id = caller.key.owner.id();
    let key_hash = idempotency_key.map(order::key_hash);
    if let Some(h) = &key_hash {
        if let Some(rec) = idempotency::claim(conn, owner_id, h, ROUTE, &identity, now).await? {
            return Ok((
                replay(svc, conn, rec, &identity, now).await?,
                Finish::Rollback,
            ));
        }
    }
    let kh = key_hash.as_deref();
    if let Ok(order) = &parsed {
        if let Some(crid) = &order.client_request_id {
            if let Some(existing) = trades::by_client_request_id(&mut *conn, owner_id, crid).await?
            {
                if existing.identity_hash == identity {
                    let out = current(svc, existing, 200, true);
                    if let Placed::Trade { trade, status, .. } = &out {
                        remember(conn, owner_id, kh, *status, None, Some(&trade.id)).await?;
                    }
                    return Ok((out, Finish::Commit));
                }
                let problem = Problem::new(
                    ErrorCode::ClientRequestIdConflict,
                    format!(
                        "clientRequestId `{crid}` was used for a different trade ({})",
                        existing.id
                    ),
                );
                remember(
                    conn,
                    owner_id,
                    kh,
                    problem.code.status(),
                    Some(&problem_json(&problem)),
                    None,
                )
                .await?;
                return Ok((
                    Placed::Refused {
                        problem,
                        replay: false,
                    },
                    Finish::Commit,
                ));
            }
        }
    }
    let order = match parsed {
        Ok(o) => o,
        Err(issues) => return Err(Problem::validation(issues).into()),
    };
    match accept(svc, conn, caller, &order, &identity, now, started).await? {
        Ok((trade, token)) => {
            let status = if token.is_some() { 202 } else { 201 };
            remember(conn, owner_id, kh, status, None, Some(&trade.id)).await?;
            Ok((
                Placed::Trade {
                    trade: Box::new(trade),
                    status,
                    token,
                    replay: false,
                },
                Finish::Commit,
            ))
        }
        Err(problem) => {
            let finish = if key_hash.is_some() {
                remember(
                    conn,
                    owner_id,
                    kh,
                    problem.code.status(),
                    Some(&problem_json(&problem)),
                    None,
                )
                .await?;
                Finish::Commit
            } else {
                Finish::Rollback
            };
            Ok((
                Placed::Refused {
                    problem,
                    replay: false,
                },
                finish,
            ))
        }
    }
}

/// Stores the response under the claimed key, if the request carried one.
async fn remember(
    conn: &mut AnyConnection,
    owner_id: &str,
    key_hash: Option<&str>,
    status: u16,
    body: Option<&str>,
    trade_id: Option<&str>,
) -> Result<(), StoreError> {
    match key_hash {
        Some(h) => idempotency::complete(conn, owner_id, h, status, body, trade_id).await,
        None => Ok(()),
    }
}

async fn replay(
    svc: &Services,
    conn: &mut AnyConnection,
    rec: idempotency::IdempotencyRecord,
    identity: &str,
    now: i64,
) -> Result<Placed, ServiceError> {
    if rec.identity_hash != identity {
        return Ok(Placed::Refused {
            problem: Problem::new(
                ErrorCode::IdempotencyKeyConflict,
                "this Idempotency-Key was used with a different request",
            ),
            replay: false,
        });
    }
    if now >= rec.expires_at {
        return Ok(Placed::Refused {
            problem: Problem::new(
                ErrorCode::IdempotencyKeyExpired,
                "this Idempotency-Key's 24 h replay window has passed; use a new key",
            ),
            replay: false,
        });
    }
    let original = u16::try_from(rec.status_code.unwrap_or(201)).unwrap_or(201);
    if let Some(trade_id) = &rec.trade_id {
        let trade = trades::get(&mut *conn, trade_id).await?.ok_or_else(|| {
            StoreError::Corrupt(format!("idempotent trade {trade_id} is missing"))
        })?;
        return Ok(current(svc, trade, original, true));
    }
    match rec.response_body.as_deref().and_then(problem_from_json) {
        Some(problem) => Ok(Placed::Refused {
            problem,
            replay: true,
        }),
        None => Err(StoreError::Corrupt("idempotency record without a response".into()).into()),
    }
}

/// Locks the key's row: cap checks of one key are serialised.
pub async fn lock_key(
    conn: &mut AnyConnection,
    key_id: &str,
    for_update: &str,
) -> Result<(), StoreError> {
    let _: Option<String> = kash_store::sqlx::query_scalar(&format!(
        "SELECT id FROM api_keys WHERE id = $1{for_update}"
    ))
    .bind(key_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(())
}

/// The market, if it exists and trades at `now`.
pub async fn tradeable_market(
    svc: &Services,
    conn: &mut AnyConnection,
    market_id: &str,
    outcome_index: u64,
    now: i64,
) -> Result<Result<markets::MarketRecord, Problem>, StoreError> {
    let Some(market) = markets::lock(&mut *conn, market_id, svc.db.for_update()).await? else {
        return Ok(Err(Problem::new(
            ErrorCode::MarketNotFound,
            format!("no market {market_id}"),
        )));
    };
    // Lock order on PostgreSQL: key, market, then the market's organization (its rolling
    // volume picks the revenue-share bracket), then ledger accounts.
    if let Some(org) = &market.organization_id {
        kash_store::orgs::lock(&mut *conn, org, svc.db.for_update()).await?;
    }
    if !market.tradeable(now) {
        return Ok(Err(Problem::new(
            ErrorCode::MarketNotTradeable,
            format!("the market is {} and does not trade", market.phase_at(now)),
        )));
    }
    if outcome_index >= market.outcome_count as u64 {
        return Ok(Err(Problem::new(
            ErrorCode::OutcomeIndexInvalid,
            format!(
                "outcomeIndex {outcome_index} is out of range: the market has {} outcomes",
                market.outcome_count
            ),
        )));
    }
    Ok(Ok(market))
}

/// Everything after validation. `Ok(Err(problem))` refuses without creating a trade.
#[allow(clippy::too_many_arguments)]
async fn accept(
    svc: &Services,
    conn: &mut AnyConnection,
    caller: &Caller<'_>,
    order: &Order,
    identity: &str,
    now: i64,
    started: Instant,
) -> Result<Result<(TradeRecord, Option<String>), Problem>, ServiceError> {
    let key = caller.key;
    lock_key(conn, &key.id, svc.db.for_update()).await?;
    let mut market =
        match tradeable_market(svc, conn, &order.market_id, order.outcome_index, now).await? {
            Ok(m) => m,
            Err(p) => return Ok(Err(p)),
        };
    let state = match market.state() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(market_id = %market.id, error = %e, "stored market state is corrupt");
            return Ok(Err(Problem::new(
                ErrorCode::MarketNotTradeable,
                "this market cannot take trades right now",
            )));
        }
    };
    let outcome = order.outcome_index as usize;
    let holder = owner_account_cached(&svc.db, conn, &key.owner, now).await?;
    let balance = ledger::lock_balance(&mut *conn, &holder, svc.db.for_update()).await?;
    let position =
        positions::get(&mut *conn, &holder, &market.id, order.outcome_index as i64).await?;
    let sellable = match &position {
        Some(p) => p.sellable()?,
        None => Default::default(),
    };
    let daily_used = match order.spec {
        Spec::Buy(_) => trades::daily_sum(&mut *conn, &key.id, now - 86_400_000, None).await?,
        _ => 0,
    };
    let limits = Limits::of(key, ceiling_atomic(svc.settings.max_trade_usdc));
    let planned = match plan(&Inputs {
        market_id: &market.id,
        state: &state,
        outcome,
        spec: &order.spec,
        balance: events::usdc(balance),
        sellable,
        limits,
        daily_used: events::usdc(daily_used),
    }) {
        Ok(p) => p,
        Err(problem) => return Ok(Err(problem)),
    };
    let (sell_mode, tokens_requested) = match &order.spec {
        Spec::SellTokens(t) => (Some("tokens"), Some(t.to_string())),
        other => (other.sell_mode(), None),
    };
    let amount = match (&order.amount_text, &order.spec) {
        (Some(text), Spec::Buy(_) | Spec::SellForAmount(_)) => text.clone(),
        _ => planned.measure.to_human_string(),
    };
    let measure = i64::try_from(planned.measure.atomic()).unwrap_or(i64::MAX);
    let mut trade = TradeRecord {
        id: id_text(&new_id()),
        owner_id: key.owner.id().to_string(),
        holder_account_id: holder,
        api_key_id: key.id.clone(),
        market_id: market.id.clone(),
        outcome_index: order.outcome_index as i64,
        side: order.spec.side().as_str().to_string(),
        sell_mode: sell_mode.map(str::to_string),
        amount,
        measure_atomic: measure,
        daily_atomic: if matches!(order.spec, Spec::Buy(_)) {
            measure
        } else {
            0
        },
        tokens_requested,
        close_position: matches!(order.spec, Spec::Close).then_some(1),
        status: "pending".into(),
        correlation_id: id_text(&new_id()),
        client_request_id: order.client_request_id.clone(),
        identity_hash: identity.to_string(),
        ledger_tx_id: None,
        block_number: None,
        tokens_out: None,
        tokens_in: None,
        usdc_out_atomic: None,
        protocol_fee_atomic: None,
        price_after: None,
        probability_after_micro: None,
        log_index: None,
        error_code: None,
        error_message: None,
        metadata: serde_json::Value::Object(
            order
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                .collect::<Map<String, Value>>(),
        )
        .to_string(),
        channel: order.channel.clone(),
        api_version: caller.api_version.to_string(),
        confirm_token_hash: None,
        confirm_token_enc: None,
        confirm_expires_at: None,
        confirmed_at: None,
        latency_ms: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
    };
    let chain_id = svc.settings.chain_id;
    let deliverable = key.webhook_url.is_some() && key.is_active(now);
    if planned.gated {
        let token = random_token();
        trade.status = "pending_confirmation".into();
        trade.confirm_token_hash = Some(hmac_hex(&svc.secrets.confirm_key, token.as_bytes()));
        trade.confirm_token_enc = Some(svc.secrets.secret_box.seal(&token));
        trade.confirm_expires_at = Some(now + CONFIRMATION_WINDOW_MS);
        trades::insert(&mut *conn, &trade).await?;
        events::traces(
            conn,
            &trade,
            &[
                (trace_type::ACCEPTED, None),
                (trace_type::CONFIRMATION_REQUIRED, Some("high_value_trade")),
            ],
            chain_id,
            now,
        )
        .await?;
        events::webhook(conn, &trade, Some(deliverable), now).await?;
        return Ok(Ok((trade, Some(token))));
    }
    let latency = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let accrual = execute::apply(
        &svc.db,
        conn,
        &mut market,
        &mut trade,
        &planned,
        position,
        now,
        latency,
        match &key.owner {
            kash_core::owner::Owner::Org(org) => Some(org.as_str()),
            kash_core::owner::Owner::User(_) => None,
        },
    )
    .await?;
    trades::insert(&mut *conn, &trade).await?;
    if let Some(a) = &accrual {
        accruals::insert(&mut *conn, a).await?;
    }
    events::traces(
        conn,
        &trade,
        &[(trace_type::ACCEPTED, None), (trace_type::EXECUTED, None)],
        chain_id,
        now,
    )
    .await?;
    events::webhook(conn, &trade, Some(deliverable), now).await?;
    Ok(Ok((trade, None)))
}

/// A trade's USDC measure as a human string (for messages).
pub fn human(atomic: i64) -> String {
    Usdc::from_atomic(u64::try_from(atomic).unwrap_or(0)).to_human_string()
}
