//! Group commit for `POST /v1/trades`: requests queue to one task per process, which runs each
//! queued trade through the same [`decide`](super::place::decide) as a lone request, each inside
//! its own savepoint of one shared transaction, and answers them all after that transaction
//! commits. Durability is unchanged — nothing is acknowledged before its commit — but BEGIN,
//! COMMIT and the pages every trade touches (the market row, the fee account, index tails) are
//! written once per batch instead of once per trade.
//!
//! A trade whose decision fails with a storage error inside a batch (a unique-index race, a
//! PostgreSQL deadlock between instances) has its savepoint rolled back and is retried alone,
//! after the batch, exactly as a lone request; so is every trade of a batch whose commit fails.

use std::sync::Arc;

use kash_store::keys::ApiKeyRecord;
use kash_store::sqlx::{self, AnyConnection};
use tokio::sync::{mpsc, oneshot};

use super::place::{decide, place, Caller, Finish, Placed};
use crate::{ServiceError, Services};

/// Most trades one transaction carries.
pub const MAX_BATCH: usize = 64;

struct Job {
    key: Arc<ApiKeyRecord>,
    api_version: String,
    idempotency_key: Option<String>,
    raw: Vec<u8>,
    reply: oneshot::Sender<Result<Placed, ServiceError>>,
}

/// The queue in front of the group-commit task.
#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts the task; it stops when every handle is dropped.
    pub fn start(svc: Services) -> Batcher {
        let (queue, mut rx) = mpsc::channel::<Job>(4096);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut jobs = vec![first];
                while jobs.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
                run(&svc, jobs).await;
            }
        });
        Batcher { queue }
    }

    /// Places a trade through the batch; the same answer a lone [`place`] would give.
    pub async fn place(
        &self,
        svc: &Services,
        key: Arc<ApiKeyRecord>,
        api_version: &str,
        idempotency_key: Option<&str>,
        raw: &[u8],
    ) -> Result<Placed, ServiceError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            key: key.clone(),
            api_version: api_version.to_string(),
            idempotency_key: idempotency_key.map(str::to_string),
            raw: raw.to_vec(),
            reply,
        };
        if self.queue.send(job).await.is_err() {
            return alone_parts(svc, &key, api_version, idempotency_key, raw).await;
        }
        match answer.await {
            Ok(result) => result,
            // The task went away without answering (shutdown): nothing of this trade committed
            // unless its batch did, and then it is found by its keys; answer it alone.
            Err(_) => alone_parts(svc, &key, api_version, idempotency_key, raw).await,
        }
    }
}

async fn alone_parts(
    svc: &Services,
    key: &ApiKeyRecord,
    api_version: &str,
    idempotency_key: Option<&str>,
    raw: &[u8],
) -> Result<Placed, ServiceError> {
    place(svc, &Caller { key, api_version }, idempotency_key, raw).await
}

async fn alone(svc: &Services, job: &Job) -> Result<Placed, ServiceError> {
    alone_parts(
        svc,
        &job.key,
        &job.api_version,
        job.idempotency_key.as_deref(),
        &job.raw,
    )
    .await
}

async fn exec(conn: &mut AnyConnection, sql: &str) -> Result<(), ServiceError> {
    sqlx::query(sql).execute(conn).await?;
    Ok(())
}

/// PostgreSQL: takes the batch's key, market and market-organization row locks up front, each set in id order, so
/// a batch never holds one of them while waiting for another that a concurrent transaction
/// (another instance's batch, the usage flush, which also goes in id order) holds.
async fn prelock(conn: &mut AnyConnection, jobs: &[Job]) -> Result<(), ServiceError> {
    let mut keys: Vec<&str> = jobs.iter().map(|j| j.key.id.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut markets: Vec<String> = jobs
        .iter()
        .filter_map(|j| {
            let v: serde_json::Value = serde_json::from_slice(&j.raw).ok()?;
            let id = kash_core::ids::parse_uuid(v.get("marketId")?.as_str()?)?;
            Some(kash_core::ids::id_text(&id))
        })
        .collect();
    markets.sort_unstable();
    markets.dedup();
    for (table, ids) in [
        ("api_keys", keys),
        ("markets", markets.iter().map(String::as_str).collect()),
    ] {
        if ids.is_empty() {
            continue;
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id FROM {table} WHERE id IN ({}) ORDER BY id FOR UPDATE",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        q.fetch_all(&mut *conn).await?;
    }
    // Then the organizations owning those markets (their rolling volume picks the
    // revenue-share bracket), in id order, before any ledger account.
    if !markets.is_empty() {
        let marks: Vec<String> = (1..=markets.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id FROM organizations WHERE id IN (SELECT organization_id FROM markets \
             WHERE id IN ({})) ORDER BY id FOR UPDATE",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for id in &markets {
            q = q.bind(id.as_str());
        }
        q.fetch_all(&mut *conn).await?;
    }
    Ok(())
}

async fn run(svc: &Services, jobs: Vec<Job>) {
    if jobs.len() == 1 {
        for job in jobs {
            let result = alone(svc, &job).await;
            let _ = job.reply.send(result);
        }
        return;
    }
    let mut tx = match svc.db.begin().await {
        Ok(tx) => tx,
        Err(_) => {
            for job in jobs {
                let result = alone(svc, &job).await;
                let _ = job.reply.send(result);
            }
            return;
        }
    };
    if svc.db.backend() == kash_store::Backend::Postgres && prelock(&mut tx, &jobs).await.is_err() {
        drop(tx);
        for job in jobs {
            let result = alone(svc, &job).await;
            let _ = job.reply.send(result);
        }
        return;
    }
    // Per job: its answer, or None to retry it alone after the batch.
    let mut answers: Vec<Option<Result<Placed, ServiceError>>> = Vec::with_capacity(jobs.len());
    for job in &jobs {
        if exec(&mut tx, "SAVEPOINT trade").await.is_err() {
            answers.push(None);
            continue;
        }
        let caller = Caller {
            key: &job.key,
            api_version: &job.api_version,
        };
        let decided = decide(
            svc,
            &mut tx,
            &caller,
            job.idempotency_key.as_deref(),
            &job.raw,
        )
        .await;
        let (answer, keep) = match decided {
            Ok((placed, Finish::Commit)) => (Some(Ok(placed)), true),
            Ok((placed, Finish::Rollback)) => (Some(Ok(placed)), false),
            // A refusal (validation) writes nothing; a storage error is retried alone.
            Err(ServiceError::Problem(p)) => (Some(Err(ServiceError::Problem(p))), false),
            Err(ServiceError::Store(_)) => (None, false),
        };
        let undo = if keep {
            exec(&mut tx, "RELEASE SAVEPOINT trade").await
        } else {
            match exec(&mut tx, "ROLLBACK TO SAVEPOINT trade").await {
                Ok(()) => exec(&mut tx, "RELEASE SAVEPOINT trade").await,
                Err(e) => Err(e),
            }
        };
        if undo.is_err() {
            // The transaction is unusable: retry everything alone.
            drop(tx);
            for job in jobs {
                let result = alone(svc, &job).await;
                let _ = job.reply.send(result);
            }
            return;
        }
        answers.push(answer);
    }
    if tx.commit().await.is_err() {
        for job in jobs {
            let result = alone(svc, &job).await;
            let _ = job.reply.send(result);
        }
        return;
    }
    for (job, answer) in jobs.into_iter().zip(answers) {
        let result = match answer {
            Some(result) => result,
            None => alone(svc, &job).await,
        };
        let _ = job.reply.send(result);
    }
}
