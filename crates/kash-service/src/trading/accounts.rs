//! Owners' ledger accounts, deposits and withdrawals (`kash-admin accounts credit|debit`).

use kash_core::ids::{id_text, new_id};
use kash_core::money::Usdc;
use kash_core::owner::Owner;
use kash_core::{ErrorCode, Problem};
use kash_store::ledger::{self, kind, Posting, PLATFORM};
use kash_store::sqlx::AnyConnection;
use kash_store::StoreError;

use crate::{audit, ServiceError, Services};

/// Whose USDC an operator command moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    Owner(Owner),
    Treasury,
}

/// The USDC account of an owner, created when missing.
pub async fn owner_account(
    conn: &mut AnyConnection,
    owner: &Owner,
    now_ms: i64,
) -> Result<String, StoreError> {
    let k = match owner {
        Owner::User(_) => kind::USER,
        Owner::Org(_) => kind::ORG,
    };
    ledger::ensure_account(conn, k, owner.id(), now_ms).await
}

/// [`owner_account`] through the committed-id cache (the trade path).
pub async fn owner_account_cached(
    db: &kash_store::Db,
    conn: &mut AnyConnection,
    owner: &Owner,
    now_ms: i64,
) -> Result<String, StoreError> {
    let k = match owner {
        Owner::User(_) => kind::USER,
        Owner::Org(_) => kind::ORG,
    };
    ledger::committed_account(db, conn, k, owner.id(), now_ms).await
}

pub async fn holder_account(
    conn: &mut AnyConnection,
    holder: &Holder,
    now_ms: i64,
) -> Result<String, StoreError> {
    match holder {
        Holder::Owner(owner) => owner_account(conn, owner, now_ms).await,
        Holder::Treasury => ledger::ensure_account(conn, kind::TREASURY, PLATFORM, now_ms).await,
    }
}

/// The platform fee account.
pub async fn fee_account(conn: &mut AnyConnection, now_ms: i64) -> Result<String, StoreError> {
    ledger::ensure_account(conn, kind::PLATFORM_FEES, PLATFORM, now_ms).await
}

/// A signed BIGINT amount.
pub fn signed(amount: Usdc) -> Result<i64, StoreError> {
    i64::try_from(amount.atomic())
        .map_err(|_| StoreError::Corrupt("USDC amount exceeds the BIGINT range".into()))
}

/// What a deposit or withdrawal did.
#[derive(Debug, Clone)]
pub struct Movement {
    pub account_id: String,
    pub ledger_tx_id: String,
    pub balance_atomic: i64,
}

async fn exists(conn: &mut AnyConnection, owner: &Owner) -> Result<bool, StoreError> {
    let table = match owner {
        Owner::User(_) => "users",
        Owner::Org(_) => "organizations",
    };
    let found: Option<String> =
        kash_store::sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE id = $1"))
            .bind(owner.id())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}

/// Moves USDC between the outside world and a holder: `credit` (deposit) or not (withdrawal).
/// A withdrawal may not take a user's or organization's balance below zero; the treasury's
/// may (the operator funds it from outside).
pub async fn move_funds(
    svc: &Services,
    holder: &Holder,
    amount: Usdc,
    credit: bool,
    actor: &str,
) -> Result<Movement, ServiceError> {
    if amount.is_zero() {
        return Err(Problem::invalid("usdc", "must be greater than zero").into());
    }
    let value = signed(amount)?;
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    if let Holder::Owner(owner) = holder {
        if !exists(&mut tx, owner).await? {
            return Err(Problem::not_found(format!("no {} {}", owner.kind(), owner.id())).into());
        }
    }
    let account = holder_account(&mut tx, holder, now).await?;
    let external = ledger::ensure_account(&mut tx, kind::EXTERNAL, PLATFORM, now).await?;
    let balance = ledger::lock_balance(&mut *tx, &account, svc.db.for_update()).await?;
    if !credit && *holder != Holder::Treasury && balance < value {
        return Err(Problem::new(
            ErrorCode::InsufficientBalance,
            format!(
                "the balance is {} USDC; cannot withdraw {} USDC",
                Usdc::from_atomic(balance.max(0) as u64).to_human_string(),
                amount.to_human_string()
            ),
        )
        .into());
    }
    let (kind_name, entries) = if credit {
        (
            "deposit",
            vec![(external, -value), (account.clone(), value)],
        )
    } else {
        (
            "withdrawal",
            vec![(account.clone(), -value), (external, value)],
        )
    };
    let id = id_text(&new_id());
    ledger::post(
        &mut tx,
        &Posting {
            id: &id,
            kind: kind_name,
            reference_id: None,
            memo: Some(actor),
            created_at: now,
            entries,
        },
    )
    .await?;
    audit::lifecycle(
        &mut *tx,
        now,
        if credit {
            "account_credited"
        } else {
            "account_debited"
        },
        actor,
        None,
        serde_json::json!({ "accountId": account, "amountAtomic": amount.to_atomic_string() }),
    )
    .await?;
    let balance = ledger::lock_balance(&mut *tx, &account, "").await?;
    if let Holder::Owner(Owner::Org(org)) = holder {
        crate::revenue::record(
            &mut tx,
            org,
            kind_name,
            kash_store::revenue_events::BALANCE,
            if credit { value } else { -value },
            balance,
            Some(&id),
            None,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Movement {
        account_id: account,
        ledger_tx_id: id,
        balance_atomic: balance,
    })
}
