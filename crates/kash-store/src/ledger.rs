//! The double-entry ledger (`amm.md` "Fees and the ledger"): accounts with a stored balance,
//! transactions whose entries sum to zero, and the queries `kash-admin ledger check` runs.
//!
//! Every posting goes through [`post`], inside the caller's transaction, so a state change and
//! the money it moves commit together. A balance is updated by the same statement sequence
//! that writes its entries, in account-id order, so concurrent postings on PostgreSQL take their
//! row locks in one global order and cannot deadlock on each other.

use sqlx::{AnyConnection, FromRow, Row};

use crate::{Exec, StoreError};

/// Account kinds, as stored.
pub mod kind {
    pub const USER: &str = "user";
    pub const ORG: &str = "org";
    pub const MARKET: &str = "market";
    pub const PLATFORM_FEES: &str = "platform_fees";
    pub const TREASURY: &str = "treasury";
    pub const ORG_ACCRUAL: &str = "org_accrual";
    pub const ORG_PAYABLE: &str = "org_payable";
    pub const EXTERNAL: &str = "external";
}

/// `owner_id` of the singleton accounts (fees, treasury, external).
pub const PLATFORM: &str = "platform";

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: String,
    pub kind: String,
    pub owner_id: String,
    pub balance_atomic: i64,
    pub created_at: i64,
}

/// The account of `(kind, owner)`, created when missing (idempotent, race-safe).
pub async fn ensure_account(
    conn: &mut AnyConnection,
    kind: &str,
    owner_id: &str,
    now_ms: i64,
) -> Result<String, StoreError> {
    if let Some(id) = account_id(&mut *conn, kind, owner_id).await? {
        return Ok(id);
    }
    let id = uuid::Uuid::new_v4().as_hyphenated().to_string();
    sqlx::query(
        "INSERT INTO ledger_accounts (id, kind, owner_id, balance_atomic, created_at) \
         VALUES ($1, $2, $3, 0, $4) ON CONFLICT (kind, owner_id) DO NOTHING",
    )
    .bind(&id)
    .bind(kind)
    .bind(owner_id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    account_id(&mut *conn, kind, owner_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("ledger account {kind}:{owner_id} vanished")))
}

/// The account of `(kind, owner)` through the per-database cache of committed ids (the trade
/// path). A miss reads in `conn`'s transaction and caches what it finds; a missing account is
/// created there and not cached (that transaction may still roll back).
///
/// Precondition: the transaction has not created this account itself before the call (so a
/// row it finds is committed). The trade, confirm and settlement paths satisfy it: they
/// create no account before looking one up. The lookup deliberately stays on `conn`: a second
/// connection per transaction could exhaust a shared pool and deadlock.
pub async fn committed_account(
    db: &crate::Db,
    conn: &mut AnyConnection,
    kind: &str,
    owner_id: &str,
    now_ms: i64,
) -> Result<String, StoreError> {
    let key = (kind.to_string(), owner_id.to_string());
    if let Some(id) = db
        .account_cache()
        .lock()
        .ok()
        .and_then(|c| c.get(&key).cloned())
    {
        return Ok(id);
    }
    if let Some(id) = account_id(&mut *conn, kind, owner_id).await? {
        if let Ok(mut cache) = db.account_cache().lock() {
            cache.insert(key, id.clone());
        }
        return Ok(id);
    }
    ensure_account(conn, kind, owner_id, now_ms).await
}

pub async fn account_id<'c>(
    exec: impl Exec<'c>,
    kind: &str,
    owner_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM ledger_accounts WHERE kind = $1 AND owner_id = $2")
            .bind(kind)
            .bind(owner_id)
            .fetch_optional(exec)
            .await?,
    )
}

pub async fn get_account<'c>(
    exec: impl Exec<'c>,
    id: &str,
) -> Result<Option<AccountRecord>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, kind, owner_id, balance_atomic, created_at FROM ledger_accounts WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(exec)
    .await?)
}

/// The balance of an account, locking its row for the rest of the transaction on PostgreSQL.
pub async fn lock_balance<'c>(
    exec: impl Exec<'c>,
    id: &str,
    for_update: &str,
) -> Result<i64, StoreError> {
    let balance: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT balance_atomic FROM ledger_accounts WHERE id = $1{for_update}"
    ))
    .bind(id)
    .fetch_optional(exec)
    .await?;
    balance.ok_or_else(|| StoreError::Corrupt(format!("ledger account {id} is missing")))
}

/// One balanced movement to record.
#[derive(Debug, Clone)]
pub struct Posting<'a> {
    pub id: &'a str,
    /// `deposit`, `withdrawal`, `market_seed`, `trade`, `redemption`, …
    pub kind: &'a str,
    pub reference_id: Option<&'a str>,
    pub memo: Option<&'a str>,
    pub created_at: i64,
    /// `(account id, signed atomic amount)`; must sum to zero. Zero amounts are dropped.
    pub entries: Vec<(String, i64)>,
}

/// Records a posting and applies it to the balances; returns its ledger sequence number.
pub async fn post(conn: &mut AnyConnection, posting: &Posting<'_>) -> Result<i64, StoreError> {
    let mut entries: Vec<(String, i64)> = Vec::new();
    for (account, amount) in &posting.entries {
        match entries.iter_mut().find(|(a, _)| a == account) {
            Some(slot) => {
                slot.1 = slot
                    .1
                    .checked_add(*amount)
                    .ok_or_else(|| StoreError::Corrupt("ledger entry overflows 64 bits".into()))?
            }
            None => entries.push((account.clone(), *amount)),
        }
    }
    entries.retain(|(_, amount)| *amount != 0);
    entries.sort();
    let total = entries
        .iter()
        .try_fold(0i64, |acc, (_, amount)| acc.checked_add(*amount));
    if total != Some(0) {
        return Err(StoreError::Corrupt(format!(
            "unbalanced ledger posting {} ({:?})",
            posting.id, entries
        )));
    }
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO ledger_transactions (id, kind, reference_id, memo, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING seq",
    )
    .bind(posting.id)
    .bind(posting.kind)
    .bind(posting.reference_id)
    .bind(posting.memo)
    .bind(posting.created_at)
    .fetch_one(&mut *conn)
    .await?;
    if entries.is_empty() {
        return Ok(seq);
    }
    let mut insert = String::from(
        "INSERT INTO ledger_entries (transaction_id, account_id, amount_atomic) VALUES ",
    );
    for i in 0..entries.len() {
        if i > 0 {
            insert.push_str(", ");
        }
        insert.push_str(&format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3));
    }
    let mut query = sqlx::query(&insert).bind(posting.id);
    for (account, amount) in &entries {
        query = query.bind(account.as_str()).bind(*amount);
    }
    query.execute(&mut *conn).await?;
    for (account, amount) in &entries {
        let done = sqlx::query(
            "UPDATE ledger_accounts SET balance_atomic = balance_atomic + $1 WHERE id = $2",
        )
        .bind(*amount)
        .bind(account.as_str())
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Corrupt(format!(
                "ledger account {account} is missing"
            )));
        }
    }
    Ok(seq)
}

/// Ledger transactions whose entries do not sum to zero.
pub async fn unbalanced_transactions<'c>(exec: impl Exec<'c>) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT transaction_id FROM ledger_entries GROUP BY transaction_id \
         HAVING CAST(SUM(amount_atomic) AS BIGINT) <> 0",
    )
    .fetch_all(exec)
    .await?)
}

/// Accounts whose stored balance differs from the sum of their entries:
/// `(id, stored, from entries)`.
pub async fn drifted_accounts<'c>(
    exec: impl Exec<'c>,
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT a.id AS id, a.balance_atomic AS stored, CAST(COALESCE(e.total, 0) AS BIGINT) AS summed \
         FROM ledger_accounts a LEFT JOIN (SELECT account_id, CAST(SUM(amount_atomic) AS BIGINT) AS total \
         FROM ledger_entries GROUP BY account_id) e ON e.account_id = a.id \
         WHERE a.balance_atomic <> COALESCE(e.total, 0)",
    )
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("stored")?, r.try_get("summed")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

pub async fn all_accounts<'c>(exec: impl Exec<'c>) -> Result<Vec<AccountRecord>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, kind, owner_id, balance_atomic, created_at FROM ledger_accounts ORDER BY id",
    )
    .fetch_all(exec)
    .await?)
}

/// Σ of the entries of `kind` transactions on the external account (deposits are negative
/// there, withdrawals positive).
pub async fn external_flow<'c>(exec: impl Exec<'c>, tx_kind: &str) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(e.amount_atomic), 0) AS BIGINT) FROM ledger_entries e \
         JOIN ledger_transactions t ON t.id = e.transaction_id \
         JOIN ledger_accounts a ON a.id = e.account_id \
         WHERE a.kind = 'external' AND t.kind = $1",
    )
    .bind(tx_kind)
    .fetch_one(exec)
    .await?)
}

pub async fn transaction_count<'c>(exec: impl Exec<'c>) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM ledger_transactions")
            .fetch_one(exec)
            .await?,
    )
}

/// The ledger sequence number of a transaction.
pub async fn transaction_seq<'c>(exec: impl Exec<'c>, id: &str) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT seq FROM ledger_transactions WHERE id = $1")
            .bind(id)
            .fetch_optional(exec)
            .await?,
    )
}
