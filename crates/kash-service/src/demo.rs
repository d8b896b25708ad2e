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
    /// The `acme` organization's owner password, when this start created it.
    pub acme_owner_password: Option<String>,
}

impl Seeded {
    /// What `--demo` prints: the key, once, and a line to paste.
    pub fn banner(&self, public_url: &str) -> String {
        let intro = if self.fresh_database {
            "Demo data created."
        } else {
            "Demo data already present; issued a fresh demo key (earlier demo keys are revoked)."
        };
        let acme = match &self.acme_owner_password {
            Some(pw) => format!(
                "  organization `{ACME_SLUG}`: owner {ACME_OWNER_EMAIL}, console password (printed once): {pw}\n  public API: curl -s {public_url}/api/organizations/{ACME_SLUG}/threads\n"
            ),
            None => String::new(),
        };
        format!(
            "\n{intro}\n  demo user: {DEMO_EMAIL} ({})\n  API key (shown once, every scope): {}\n  console: {public_url}/signin  email {DEMO_EMAIL}  password (shown once) {}\n\n  curl -s -H 'X-API-Key: {}' {public_url}/v1/account/usage\n{acme}",
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
            seed_trading(svc, &user.id, &org.id).await?;
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
    let acme_owner_password = if fresh_database {
        Some(seed_acme(svc).await?)
    } else {
        None
    };
    Ok(Seeded {
        user_id,
        org_id,
        key: issued.key,
        password,
        fresh_database,
        acme_owner_password,
    })
}

/// The demo markets: outcome labels, and whether the demo organization creates them.
const DEMO_MARKETS: &[(&str, &[&str], bool)] = &[
    ("Will it rain in Lisbon tomorrow?", &["Yes", "No"], false),
    (
        "Which team wins the demo cup?",
        &["Red", "Blue", "Green"],
        true,
    ),
    (
        "How many launches this quarter?",
        &["0-2", "3-5", "6-8", "9-11", "12+"],
        false,
    ),
    (
        "Which planet will the next probe visit?",
        &[
            "Mercury", "Venus", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune", "Pluto",
        ],
        true,
    ),
];

/// Funds the demo user (10,000 USDC) and organization, opens markets with 2–8 outcomes and
/// gives them some trading history from two demo traders.
async fn seed_trading(svc: &Services, user_id: &str, org_id: &str) -> Result<(), ServiceError> {
    use crate::trading::accounts::{move_funds, Holder};
    use crate::trading::markets::{create, NewMarket};
    use crate::trading::place::{place, Caller};
    use kash_core::money::Usdc;

    let usdc = |whole: u64| Usdc::from_atomic(whole * 1_000_000);
    move_funds(
        svc,
        &Holder::Owner(Owner::User(user_id.into())),
        usdc(10_000),
        true,
        ACTOR,
    )
    .await?;
    move_funds(
        svc,
        &Holder::Owner(Owner::Org(org_id.into())),
        usdc(1_000),
        true,
        ACTOR,
    )
    .await?;
    let day = 86_400_000;
    let mut markets = Vec::new();
    for (i, (title, outcomes, by_org)) in DEMO_MARKETS.iter().enumerate() {
        let now = svc.now_ms();
        let m = create(
            svc,
            &NewMarket {
                title: title.to_string(),
                description: Some("Demo market".into()),
                image_url: None,
                outcomes: outcomes.iter().map(|o| o.to_string()).collect(),
                organization_id: by_org.then(|| org_id.to_string()),
                seed: usdc(100 + 50 * i as u64),
                freeze_at: Some(now + (7 + i as i64) * day),
                resolve_at: Some(now + (8 + i as i64) * day),
                fee_bps: 100,
                sell_fee_bps: 50,
                fields: Default::default(),
            },
            ACTOR,
        )
        .await?;
        markets.push((m.id, outcomes.len()));
    }
    for t in 0..2 {
        let trader = crate::users::create(
            svc,
            &format!("trader{t}@kash.example"),
            Some(&format!("Demo Trader {t}")),
            None,
            ACTOR,
        )
        .await?;
        move_funds(
            svc,
            &Holder::Owner(Owner::User(trader.id.clone())),
            usdc(2_000),
            true,
            ACTOR,
        )
        .await?;
        let key = crate::keys::issue(
            svc,
            IssueRequest {
                owner: Owner::User(trader.id.clone()),
                tier: Tier::Mm,
                scopes: Some(ScopeSet::new(Scope::ALL)),
                name: Some("demo-trader".into()),
                ip_allowlist: None,
                webhook_url: None,
                expires_at: None,
                limits: LimitOverrides::default(),
            },
            ACTOR,
        )
        .await?;
        let caller = Caller {
            key: &key.record,
            api_version: "2026-08-19",
        };
        for (i, (market, n)) in markets.iter().enumerate() {
            for j in 0..3 {
                let outcome = (i + j + t) % n;
                let amount = format!("{}.{}", 5 + 7 * j + 3 * t, 25 * (i % 4));
                let body = serde_json::json!({
                    "marketId": market, "outcomeIndex": outcome, "side": "buy", "amount": amount,
                });
                place(svc, &caller, None, body.to_string().as_bytes()).await?;
            }
            let body = serde_json::json!({
                "marketId": market, "outcomeIndex": (i + t) % n, "side": "sell", "amount": "2",
            });
            place(svc, &caller, None, body.to_string().as_bytes()).await?;
        }
    }
    Ok(())
}

pub const ACME_SLUG: &str = "acme";
pub const ACME_OWNER_EMAIL: &str = "owner@acme.example";

/// The organization data of §8 that needs no markets: `acme` with its owner, two partners,
/// three threads (one upcoming, one closed), and 30 days of embed renders from three sources.
/// (Markets, chapters, trades and earnings are seeded once markets exist.) Returns the owner's
/// console password.
async fn seed_acme(svc: &Services) -> Result<String, ServiceError> {
    use crate::orgs::OrgUpdate;
    use crate::partners::PartnerFields;
    use crate::threads::ThreadFields;

    let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 20);
    let owner = crate::users::create(
        svc,
        ACME_OWNER_EMAIL,
        Some("Acme Owner"),
        Some(&password),
        ACTOR,
    )
    .await?;
    let org = orgs::create(svc, "Acme Corporation", ACME_SLUG, None, ACTOR).await?;
    orgs::add_member(svc, &org.id, &owner.id, "owner", ACTOR).await?;
    orgs::update(
        svc,
        &org.id,
        &OrgUpdate {
            display_name: Some("Acme".into()),
            tagline: Some("Forecasts for everything Acme makes".into()),
            color_primary: Some("#E4572E".into()),
            contact_email: Some(ACME_OWNER_EMAIL.into()),
            ..OrgUpdate::default()
        },
        ACTOR,
    )
    .await?;
    let mut partner_ids = Vec::new();
    for (name, slug, site) in [
        (
            "Rocket Review",
            "rocket-review",
            "https://rocket-review.example",
        ),
        (
            "Anvil Weekly",
            "anvil-weekly",
            "https://anvil-weekly.example",
        ),
    ] {
        let p = crate::partners::create(
            svc,
            &org.id,
            &PartnerFields {
                name: Some(name.into()),
                slug: Some(slug.into()),
                display_name: Some(name.into()),
                description: Some(format!("{name} covers Acme's launches.")),
                website_url: Some(site.into()),
                ..PartnerFields::default()
            },
            ACTOR,
        )
        .await?;
        partner_ids.push(p.id);
    }
    let day = 86_400_000;
    let now = svc.now_ms();
    let iso = |ms: i64| kash_core::time::rfc3339_ms(kash_core::time::from_unix_ms(ms));
    let threads = [
        (
            "Rocket season",
            "launches",
            "rockets,space",
            Some(now - 20 * day),
            Some(now + 40 * day),
            Some(&partner_ids[0]),
        ),
        (
            "Anvil futures",
            "products",
            "anvils",
            None,
            None,
            Some(&partner_ids[1]),
        ),
        (
            "Next quarter",
            "business",
            "earnings,forecasts",
            Some(now + 10 * day),
            None,
            None,
        ),
    ];
    let mut thread_ids = Vec::new();
    for (title, category, tags, start, end, partner) in threads {
        let t = crate::threads::create(
            svc,
            &org.id,
            &ThreadFields {
                title: Some(title.into()),
                description: Some(format!("**{title}**: what Acme's forecasters expect.")),
                category: Some(category.into()),
                tags: Some(tags.into()),
                start_time: start.map(iso),
                end_time: end.map(iso),
                partner_id: partner.cloned(),
                ..ThreadFields::default()
            },
            ACTOR,
        )
        .await?;
        thread_ids.push(t.id);
    }
    seed_renders(svc, &org.id, &thread_ids, now).await?;
    seed_acme_markets(svc, &org.id, &partner_ids, &thread_ids).await?;
    Ok(password)
}

/// Acme's markets (§8): twelve with 2–8 outcomes across its threads — the first thread in four
/// chapters — opened 30 days ago, and 30 days of trades from three traders, so charts, volume and
/// earnings are not empty and the oldest accruals are already past the settlement hold.
async fn seed_acme_markets(
    svc: &Services,
    org_id: &str,
    partner_ids: &[String],
    thread_ids: &[String],
) -> Result<(), ServiceError> {
    use crate::trading::accounts::{move_funds, Holder};
    use crate::trading::markets::{create, MarketFields, NewMarket};
    use crate::trading::place::{place, Caller};
    use kash_core::money::Usdc;
    use kash_core::time::OffsetClock;

    // (thread, chapter (id, title, position), partner, title, outcomes)
    type Spec<'a> = (
        usize,
        Option<(&'a str, &'a str, i64)>,
        Option<usize>,
        &'a str,
        &'a [&'a str],
    );
    const CH: [(&str, &str, i64); 4] = [
        ("ignition", "Ignition", 1),
        ("ascent", "Ascent", 2),
        ("orbit", "Orbit", 3),
        ("return", "Return", 4),
    ];
    let specs: [Spec; 12] = [
        (
            0,
            Some(CH[0]),
            Some(0),
            "Does the first Acme rocket leave the pad?",
            &["Yes", "No"],
        ),
        (
            0,
            Some(CH[0]),
            Some(0),
            "How many engines ignite?",
            &["1", "2", "3", "4"],
        ),
        (
            0,
            Some(CH[1]),
            Some(0),
            "Max altitude of the test flight?",
            &["<10 km", "10-50 km", "50-100 km", ">100 km"],
        ),
        (
            0,
            Some(CH[1]),
            None,
            "Does stage separation work?",
            &["Yes", "No"],
        ),
        (
            0,
            Some(CH[2]),
            Some(0),
            "Which orbit is reached?",
            &["None", "LEO", "MEO", "GEO", "Escape"],
        ),
        (
            0,
            Some(CH[3]),
            None,
            "Where does the capsule land?",
            &["Sea", "Desert", "Pad", "Elsewhere"],
        ),
        (
            1,
            None,
            Some(1),
            "Anvil sales this year?",
            &["<1k", "1k-10k", "10k-100k", ">100k"],
        ),
        (
            1,
            None,
            Some(1),
            "Which anvil colour sells best?",
            &["Black", "Red", "Blue", "Gold", "Silver", "Green"],
        ),
        (
            1,
            None,
            None,
            "Does the spring-loaded anvil ship?",
            &["Yes", "No"],
        ),
        (
            1,
            None,
            Some(1),
            "Anvil of the year?",
            &[
                "Classic", "Compact", "Heavy", "Portable", "Smart", "Retro", "Mini", "Giant",
            ],
        ),
        (
            2,
            None,
            None,
            "Acme revenue next quarter?",
            &["Down", "Flat", "Up"],
        ),
        (
            2,
            None,
            None,
            "Does Acme open a new factory?",
            &["Yes", "No"],
        ),
    ];
    let usdc = |whole: u64| Usdc::from_atomic(whole * 1_000_000);
    let day: i64 = 86_400_000;
    let now = svc.now_ms();
    // The same services on a clock 30 days behind, moved forward as the history is written.
    let clock = OffsetClock::new();
    clock.advance(chrono::Duration::days(-30));
    let past = Services {
        clock: std::sync::Arc::new(clock.clone()),
        ..svc.clone()
    };
    move_funds(
        svc,
        &Holder::Owner(Owner::Org(org_id.into())),
        usdc(2_000),
        true,
        ACTOR,
    )
    .await?;
    let mut markets = Vec::new();
    for (thread, chapter, partner, title, outcomes) in specs {
        let m = create(
            &past,
            &NewMarket {
                title: title.into(),
                description: Some(format!(
                    "{title} Resolved from Acme's public announcements."
                )),
                image_url: None,
                outcomes: outcomes.iter().map(|o| o.to_string()).collect(),
                organization_id: Some(org_id.into()),
                seed: usdc(50),
                freeze_at: Some(now + 20 * day),
                resolve_at: Some(now + 21 * day),
                fee_bps: 100,
                sell_fee_bps: 50,
                fields: MarketFields {
                    thread_id: thread_ids.get(thread).cloned(),
                    partner_id: partner.and_then(|p| partner_ids.get(p).cloned()),
                    chapter_id: chapter.map(|c| c.0.to_string()),
                    chapter_title: chapter.map(|c| c.1.to_string()),
                    chapter_position: chapter.map(|c| c.2),
                    chapter_total: chapter.map(|_| 4),
                    ..MarketFields::default()
                },
            },
            ACTOR,
        )
        .await?;
        markets.push((m.id, outcomes.len()));
    }
    let mut keys = Vec::new();
    for t in 0..3 {
        let trader = crate::users::create(
            svc,
            &format!("acme-trader{t}@kash.example"),
            Some(&format!("Acme Trader {t}")),
            None,
            ACTOR,
        )
        .await?;
        move_funds(
            svc,
            &Holder::Owner(Owner::User(trader.id.clone())),
            usdc(5_000),
            true,
            ACTOR,
        )
        .await?;
        let key = crate::keys::issue(
            svc,
            IssueRequest {
                owner: Owner::User(trader.id),
                tier: Tier::Mm,
                scopes: Some(ScopeSet::new(Scope::ALL)),
                name: Some("acme-trader".into()),
                ip_allowlist: None,
                webhook_url: None,
                expires_at: None,
                limits: LimitOverrides::default(),
            },
            ACTOR,
        )
        .await?;
        keys.push(key.record);
    }
    let channels = ["api", "embed", "webapp", "x"];
    for d in 0..30usize {
        clock.advance(chrono::Duration::days(1));
        for (t, key) in keys.iter().enumerate() {
            let caller = Caller {
                key,
                api_version: "2026-08-19",
            };
            let (market, n) = &markets[(d * 5 + t * 7) % markets.len()];
            let body = serde_json::json!({
                "marketId": market, "outcomeIndex": (d + t) % n, "side": "buy",
                "amount": format!("{}.{:02}", 3 + (d * 7 + t * 11) % 40, (d * 13) % 100),
                "channel": channels[(d + t) % channels.len()],
            });
            place(&past, &caller, None, body.to_string().as_bytes()).await?;
            if d % 4 == t {
                let body = serde_json::json!({
                    "marketId": market, "outcomeIndex": (d + t) % n, "side": "sell", "amount": "1",
                });
                place(&past, &caller, None, body.to_string().as_bytes()).await?;
            }
        }
    }
    Ok(())
}

/// 30 days of renders, clicks-free, from three sources (deterministic counts).
async fn seed_renders(
    svc: &Services,
    org_id: &str,
    thread_ids: &[String],
    now_ms: i64,
) -> Result<(), ServiceError> {
    use kash_store::embeds::{CounterDelta, ViewerRow};
    let sources = ["rocket-review.example", "anvil-weekly.example", "(direct)"];
    let mut counters = Vec::new();
    let mut viewers = Vec::new();
    for d in 0..30i64 {
        let day = kash_core::time::from_unix_ms(now_ms - d * 86_400_000)
            .format("%Y-%m-%d")
            .to_string();
        for (s, source) in sources.iter().enumerate() {
            let targets = std::iter::once(("organization", org_id.to_string()))
                .chain(thread_ids.iter().map(|t| ("thread", t.clone())));
            for (t, (kind, target)) in targets.enumerate() {
                let renders = 5 + (d * 7 + s as i64 * 13 + t as i64 * 3) % 40;
                counters.push(CounterDelta {
                    org_id: org_id.to_string(),
                    day: day.clone(),
                    kind: kind.to_string(),
                    target_id: target.clone(),
                    source: source.to_string(),
                    renders,
                    clicks: 0,
                });
                for v in 0..(renders / 3).max(1) {
                    viewers.push(ViewerRow {
                        org_id: org_id.to_string(),
                        day: day.clone(),
                        kind: kind.to_string(),
                        target_id: target.clone(),
                        source: source.to_string(),
                        viewer: format!("demo-viewer-{s}-{v}"),
                    });
                }
            }
        }
    }
    let mut tx = svc.db.begin().await?;
    kash_store::embeds::apply(&mut tx, &counters, &[], &viewers).await?;
    tx.commit().await?;
    Ok(())
}
