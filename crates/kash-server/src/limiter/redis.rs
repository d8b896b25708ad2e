//! The Redis limiter store: one Lua script per decision, so each decision is atomic across a
//! fleet of servers. Times come from the calling server's clock (instances are expected to run
//! NTP; a skew of a few hundred ms only shifts window edges).

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use tokio::sync::Mutex;

use super::{bucket, sliding_decision, Decision, LimiterStore, LockoutPolicy, StoreUnavailable};

const SLIDING: &str = r#"
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  redis.call('ZADD', key, now, member)
  count = count + 1
  allowed = 1
end
redis.call('PEXPIRE', key, window)
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2] or now
local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2] or now
return {allowed, count, tonumber(oldest), tonumber(newest)}
"#;

/// Token bucket as one script: read, refill, take, write — the arithmetic mirrors
/// `bucket::take` (integers only) so both stores decide identically.
const BUCKET: &str = r#"
local key, cap, period, now = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local full = cap * period
local prior = redis.call('HMGET', key, 'u', 't')
local units = tonumber(prior[1]) or full
local last = tonumber(prior[2]) or now
local elapsed = now - last
if elapsed < 0 then elapsed = 0 end
units = math.min(full, units + elapsed * cap)
local allowed = 0
if units >= period then
  units = units - period
  allowed = 1
end
redis.call('HSET', key, 'u', units, 't', now)
redis.call('PEXPIRE', key, period * 2)
return {allowed, units}
"#;

const FAILURE: &str = r#"
local fkey, lkey, now, window, max, lockms, member = KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
redis.call('ZREMRANGEBYSCORE', fkey, '-inf', now - window)
redis.call('ZADD', fkey, now, member)
redis.call('PEXPIRE', fkey, window)
if redis.call('ZCARD', fkey) > max then
  local untilms = now + lockms
  redis.call('SET', lkey, untilms, 'PX', lockms)
  redis.call('DEL', fkey)
  return untilms
end
return -1
"#;

pub struct RedisStore {
    client: redis::Client,
    conn: Mutex<Option<ConnectionManager>>,
    sliding: Script,
    bucket: Script,
    failure: Script,
    prefix: String,
}

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

fn unavailable(e: impl std::fmt::Display) -> StoreUnavailable {
    StoreUnavailable(e.to_string())
}

impl RedisStore {
    /// Connects lazily: a server whose Redis is down still starts (and fails closed).
    pub fn new(url: &str, prefix: &str) -> Result<Self, StoreUnavailable> {
        Ok(RedisStore {
            client: redis::Client::open(url).map_err(unavailable)?,
            conn: Mutex::new(None),
            sliding: Script::new(SLIDING),
            bucket: Script::new(BUCKET),
            failure: Script::new(FAILURE),
            prefix: prefix.to_string(),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreUnavailable> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(CALL_TIMEOUT)
            .set_number_of_retries(1);
        let conn = tokio::time::timeout(
            CONNECT_TIMEOUT * 2,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        .map_err(|_| unavailable("timed out connecting to Redis"))?
        .map_err(unavailable)?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Runs one call with a deadline, so a hung Redis fails fast (and closed).
    async fn timed<T>(
        fut: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreUnavailable> {
        tokio::time::timeout(CALL_TIMEOUT, fut)
            .await
            .map_err(|_| unavailable("Redis call timed out"))?
            .map_err(unavailable)
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }
}

fn unique_member(now_ms: i64) -> String {
    format!("{now_ms}-{}", ulid::Ulid::new())
}

#[async_trait]
impl LimiterStore for RedisStore {
    async fn sliding_window(
        &self,
        key: &str,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<Decision, StoreUnavailable> {
        let mut inv = self.sliding.prepare_invoke();
        inv.key(self.key("sw", key))
            .arg(now_ms)
            .arg(window_ms)
            .arg(limit)
            .arg(unique_member(now_ms));
        let mut conn = self.connection().await?;
        let (allowed, count, oldest, newest): (i64, i64, i64, i64) =
            Self::timed(inv.invoke_async(&mut conn)).await?;
        Ok(sliding_decision(
            allowed == 1,
            limit,
            u64::try_from(count).unwrap_or(0),
            oldest,
            newest,
            window_ms,
            now_ms,
        ))
    }

    async fn token_bucket(
        &self,
        key: &str,
        capacity: u32,
        period_ms: i64,
        now_ms: i64,
    ) -> Result<Decision, StoreUnavailable> {
        let mut inv = self.bucket.prepare_invoke();
        inv.key(self.key("tb", key))
            .arg(capacity)
            .arg(period_ms)
            .arg(now_ms);
        let mut conn = self.connection().await?;
        let (allowed, units): (i64, i64) = Self::timed(inv.invoke_async(&mut conn)).await?;
        Ok(bucket::decision(
            units,
            allowed == 1,
            capacity,
            period_ms,
            now_ms,
        ))
    }

    async fn locked_until(&self, ip: &str, now_ms: i64) -> Result<Option<i64>, StoreUnavailable> {
        let mut conn = self.connection().await?;
        let until: Option<i64> = Self::timed(conn.get(self.key("lock", ip))).await?;
        Ok(until.filter(|u| *u > now_ms))
    }

    async fn record_failure(
        &self,
        ip: &str,
        policy: LockoutPolicy,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreUnavailable> {
        let mut inv = self.failure.prepare_invoke();
        inv.key(self.key("fail", ip))
            .key(self.key("lock", ip))
            .arg(now_ms)
            .arg(policy.window_ms)
            .arg(policy.max_failures)
            .arg(policy.lock_ms)
            .arg(unique_member(now_ms));
        let mut conn = self.connection().await?;
        let until: i64 = Self::timed(inv.invoke_async(&mut conn)).await?;
        Ok((until >= 0).then_some(until))
    }

    async fn ping(&self) -> Result<(), StoreUnavailable> {
        let mut conn = self.connection().await?;
        let pong: String = Self::timed(redis::cmd("PING").query_async(&mut conn)).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(unavailable(format!("unexpected PING answer {pong}")))
        }
    }
}
