//! Unique viewers without keeping addresses: a viewer is HMAC-SHA256(day salt, IP ‖ user
//! agent), truncated. The salt is random per UTC day, shared by the fleet through the
//! database, and deleted once the day is over — after that, no hash can be linked back to an
//! address by anyone, us included. Raw IPs are never stored.

use hmac::{Hmac, Mac};
use kash_store::Db;
use rand::RngCore;
use sha2::Sha256;
use tokio::sync::Mutex;

#[derive(Default)]
pub struct ViewerHasher {
    /// (day, salt) of the day in use.
    current: Mutex<Option<(String, Vec<u8>)>>,
}

impl ViewerHasher {
    /// The viewer id of (ip, user agent) on `day`. Reads the day's salt from the database the
    /// first time a day is seen (once a day per instance); every other call is in memory.
    pub async fn viewer(
        &self,
        db: &Db,
        day: &str,
        ip: &str,
        user_agent: &str,
    ) -> Result<String, kash_store::StoreError> {
        let mut current = self.current.lock().await;
        let salt = match current.as_ref() {
            Some((d, salt)) if d == day => salt.clone(),
            _ => {
                let mut fresh = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut fresh);
                let mut tx = db.begin().await?;
                let stored =
                    kash_store::embeds::day_salt(&mut tx, day, &hex::encode(fresh)).await?;
                tx.commit().await?;
                let salt = hex::decode(&stored)
                    .map_err(|e| kash_store::StoreError::Corrupt(format!("viewer salt: {e}")))?;
                *current = Some((day.to_string(), salt.clone()));
                salt
            }
        };
        drop(current);
        Ok(hash(&salt, ip, user_agent))
    }
}

fn hash(salt: &[u8], ip: &str, user_agent: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(salt) else {
        // HMAC takes keys of any length; this arm cannot run.
        return String::new();
    };
    mac.update(ip.as_bytes());
    mac.update(b"\n");
    mac.update(user_agent.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

#[cfg(test)]
mod tests {
    use super::hash;

    #[test]
    fn hashes_depend_on_salt_ip_and_agent() {
        let a = hash(b"salt-1", "203.0.113.9", "Firefox");
        assert_eq!(a.len(), 32);
        assert_eq!(a, hash(b"salt-1", "203.0.113.9", "Firefox"));
        assert_ne!(a, hash(b"salt-2", "203.0.113.9", "Firefox"));
        assert_ne!(a, hash(b"salt-1", "203.0.113.10", "Firefox"));
        assert_ne!(a, hash(b"salt-1", "203.0.113.9", "Chrome"));
        assert!(!a.contains("203"));
    }
}
