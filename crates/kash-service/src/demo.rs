//! `kash-server --demo`: a demo user and organization and a key with every scope, printed once.

use kash_core::owner::Owner;
use kash_core::scope::{Scope, ScopeSet};
use kash_core::tier::Tier;
use kash_store::{keys, users};
use rand::distributions::{Alphanumeric, DistString};

use crate::keys::{IssueRequest, LimitOverrides};
use crate::{orgs, ServiceError, Services};

pub const DEMO_EMAIL: &str = "demo@kash.example";
pub const DEMO_ORG_SLUG: &str = "demo";
const DEMO_KEY_NAME: &str = "demo";
const ACTOR: &str = "kash-server --demo";

pub struct Seeded {
    pub user_id: String,
    pub org_id: Option<String>,
    pub key: String,
    /// The demo user's console password, set afresh on every `--demo` start.
    pub password: String,
    pub fresh_database: bool,
}

impl Seeded {
    /// What `--demo` prints: the key, once, and a line to paste.
    pub fn banner(&self, public_url: &str) -> String {
        let intro = if self.fresh_database {
            "Demo data created."
        } else {
            "Demo data already present; issued a fresh demo key (earlier demo keys are revoked)."
        };
        format!(
            "\n{intro}\n  demo user: {DEMO_EMAIL} ({})\n  API key (shown once, every scope): {}\n  console: {public_url}/signin  email {DEMO_EMAIL}  password (shown once) {}\n\n  curl -s -H 'X-API-Key: {}' {public_url}/v1/account/usage\n",
            self.user_id, self.key, self.password, self.key
        )
    }
}

pub async fn seed(svc: &Services) -> Result<Seeded, ServiceError> {
    let existing = users::find_by_email(svc.db.reader(), DEMO_EMAIL).await?;
    let fresh_database = existing.is_none();
    let (user_id, org_id) = match existing {
        Some(user) => {
            // Old demo keys cannot be shown again; retire them so the cap never blocks.
            for key in keys::list(svc.db.reader(), Some(&Owner::User(user.id.clone()))).await? {
                if key.name == DEMO_KEY_NAME && key.revoked_at.is_none() {
                    crate::keys::revoke(svc, &key.id, ACTOR).await?;
                }
            }
            (user.id, None)
        }
        None => {
            let user =
                crate::users::create(svc, DEMO_EMAIL, Some("Demo Trader"), None, ACTOR).await?;
            let org = orgs::create(svc, "Demo Organization", DEMO_ORG_SLUG, None, ACTOR).await?;
            orgs::add_member(svc, &org.id, &user.id, "owner", ACTOR).await?;
            (user.id, Some(org.id))
        }
    };
    let issued = crate::keys::issue(
        svc,
        IssueRequest {
            owner: Owner::User(user_id.clone()),
            tier: Tier::Enterprise,
            scopes: Some(ScopeSet::new(Scope::ALL)),
            name: Some(DEMO_KEY_NAME.into()),
            ip_allowlist: None,
            webhook_url: None,
            expires_at: None,
            limits: LimitOverrides::default(),
        },
        ACTOR,
    )
    .await?;
    // A fresh password each start, like the key: it is printed once and stored only hashed.
    let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 20);
    crate::users::set_password(svc, &user_id, &password, ACTOR).await?;
    Ok(Seeded {
        user_id,
        org_id,
        key: issued.key,
        password,
        fresh_database,
    })
}
