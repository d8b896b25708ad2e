use clap::{Args, Subcommand};
use kash_service::orgs::{BracketsChange, OrgUpdate};
use kash_service::Services;
use kash_store::orgs::{MembershipRecord, OrgRecord};
use serde_json::{json, Value};

use super::{actor, uuid_arg};
use crate::output::{emit, CmdResult, Failure};

#[derive(Subcommand, Debug)]
pub enum OrgsCmd {
    /// Create an organization.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
        /// Share of the protocol fee of trades in the org's markets (0–10000, default 5000).
        #[arg(long)]
        revenue_share_bps: Option<u32>,
    },
    /// Add a member or change a member's role.
    AddMember {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
        /// owner, admin or member.
        #[arg(long)]
        role: String,
    },
    /// Set how many active keys the organization may hold (default 5).
    SetKeyCap {
        #[arg(long)]
        org: String,
        #[arg(long)]
        max_active: u32,
    },
    /// Set the self-serve tier the console issues the organization's keys at.
    SetTier {
        #[arg(long)]
        org: String,
        #[arg(long)]
        tier: String,
    },
    /// Show one organization (by id or slug).
    Show {
        #[arg(long)]
        org: String,
    },
    /// List every organization.
    List,
    /// Edit an organization's profile or status (empty values clear optional fields).
    Update(UpdateArgs),
    /// Suspend an organization: its public surfaces answer 404; its markets keep trading.
    Suspend {
        #[arg(long)]
        org: String,
    },
    /// Lift a suspension.
    Activate {
        #[arg(long)]
        org: String,
    },
    /// Set the revenue share: a flat rate, optionally with volume brackets
    /// ("0:3000,100000:4000,1000000:5000": 30-day volume in USDC, then bps).
    SetRevenueShare {
        #[arg(long)]
        org: String,
        /// 0–10000.
        #[arg(long)]
        bps: u32,
        #[arg(long, conflicts_with = "clear_brackets")]
        brackets: Option<String>,
        /// Remove the brackets (the flat rate applies).
        #[arg(long)]
        clear_brackets: bool,
    },
    /// Run the revenue-share settlement job now: accruals older than the hold
    /// (`KASH_REVENUE_HOLD_DAYS`) become payable, one `revenue_share_settled` event per
    /// organization that moved a nonzero amount. Idempotent.
    Settle {
        /// Only this organization (default: every organization with due accruals).
        #[arg(long)]
        org: Option<String>,
    },
    /// Move payable earnings into the organization's USDC balance (a `payout` event).
    Payout {
        #[arg(long)]
        org: String,
        /// Whole or decimal USDC (default: everything payable).
        #[arg(long)]
        usdc: Option<String>,
    },
    /// List the organization's members.
    Members {
        #[arg(long)]
        org: String,
    },
    /// Change a member's role (the last owner cannot be demoted).
    SetRole {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
        /// owner, admin or member.
        #[arg(long)]
        role: String,
    },
    /// Remove a member (the last owner cannot be removed).
    RemoveMember {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
    },
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub display_name: Option<String>,
    /// At most 140 characters.
    #[arg(long)]
    pub tagline: Option<String>,
    /// Primary colour, #RRGGBB.
    #[arg(long)]
    pub color: Option<String>,
    #[arg(long)]
    pub contact_email: Option<String>,
    /// active or suspended.
    #[arg(long)]
    pub status: Option<String>,
    /// Comma list of origins allowed to frame the embeds (empty: any site).
    #[arg(long)]
    pub frame_ancestors: Option<String>,
}

/// An organization as every command prints it.
pub fn org_json(o: &OrgRecord) -> Value {
    json!({
        "id": o.id,
        "name": o.name,
        "slug": o.slug,
        "displayName": o.display_name,
        "tagline": o.tagline,
        "colorPrimary": o.color_primary,
        "logoUrl": o.logo_url,
        "status": o.status,
        "contactEmail": o.contact_email,
        "revenueShareBps": o.revenue_share_bps,
        "revenueBrackets": o.revenue_brackets.as_deref()
            .and_then(|b| kash_core::revenue::Brackets::from_json(b).ok())
            .map(|b| b.to_list()),
        "frameAncestors": o.frame_ancestors.as_deref()
            .and_then(|f| serde_json::from_str::<Value>(f).ok()),
        "tier": o.tier,
        "createdAt": kash_core::time::rfc3339_ms(kash_core::time::from_unix_ms(o.created_at)),
    })
}

fn member_json(m: &MembershipRecord) -> Value {
    json!({ "organizationId": m.org_id, "userId": m.user_id, "role": m.role })
}

/// `--org` as an organization id or slug that exists.
pub async fn org_ref(svc: &Services, value: &str) -> Result<OrgRecord, Failure> {
    kash_service::orgs::find(svc, value).await?.ok_or_else(|| {
        Failure::Other(kash_core::Problem::not_found(format!(
            "organization {value} does not exist"
        )))
    })
}

async fn set_status(svc: &Services, org: &str, status: &str, json_out: bool) -> CmdResult {
    let org = org_ref(svc, org).await?;
    let change = OrgUpdate {
        status: Some(status.to_string()),
        ..OrgUpdate::default()
    };
    let org = kash_service::orgs::update(svc, &org.id, &change, &actor()).await?;
    emit(json_out, &org_json(&org), || {
        format!(
            "organization {} ({}) is now {}",
            org.id, org.slug, org.status
        )
    })
}

pub async fn run(svc: &Services, cmd: OrgsCmd, json_out: bool) -> CmdResult {
    match cmd {
        OrgsCmd::Create {
            name,
            slug,
            revenue_share_bps,
        } => {
            let org =
                kash_service::orgs::create(svc, &name, &slug, revenue_share_bps, &actor()).await?;
            emit(
                json_out,
                &json!({
                    "id": org.id, "name": org.name, "slug": org.slug,
                    "revenueShareBps": org.revenue_share_bps, "status": org.status,
                }),
                || format!("created organization {} ({})", org.id, org.slug),
            )
        }
        OrgsCmd::AddMember { org, user, role } => {
            let org = org_ref(svc, &org).await?.id;
            let user = uuid_arg("--user", &user)?;
            let m = kash_service::orgs::add_member(svc, &org, &user, &role, &actor()).await?;
            emit(
                json_out,
                &json!({ "organizationId": m.org_id, "userId": m.user_id, "role": m.role }),
                || {
                    format!(
                        "user {} is now {} of organization {}",
                        m.user_id, m.role, m.org_id
                    )
                },
            )
        }
        OrgsCmd::SetTier { org, tier } => {
            let org = org_ref(svc, &org).await?.id;
            let tier = super::users::tier_arg(&tier)?;
            kash_service::keys::set_tier(
                svc,
                &kash_core::owner::Owner::Org(org.clone()),
                tier,
                &actor(),
            )
            .await?;
            emit(
                json_out,
                &json!({ "id": org, "tier": tier.as_str() }),
                || format!("the console now issues keys of organization {org} at tier {tier}"),
            )
        }
        OrgsCmd::Show { org } => {
            let org = org_ref(svc, &org).await?;
            emit(json_out, &org_json(&org), || {
                format!(
                    "{} ({}) {}  status {}  revenue share {} bps{}",
                    org.name,
                    org.slug,
                    org.id,
                    org.status,
                    org.revenue_share_bps,
                    org.revenue_brackets
                        .as_deref()
                        .and_then(|b| kash_core::revenue::Brackets::from_json(b).ok())
                        .map(|b| format!(" (brackets {})", b.to_list()))
                        .unwrap_or_default()
                )
            })
        }
        OrgsCmd::List => {
            let all = kash_store::orgs::list(svc.db.reader()).await?;
            let items: Vec<Value> = all.iter().map(org_json).collect();
            emit(json_out, &json!({ "organizations": items }), || {
                all.iter()
                    .map(|o| format!("{}  {:<20} {:<10} {}", o.id, o.slug, o.status, o.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        OrgsCmd::Update(a) => {
            let org = org_ref(svc, &a.org).await?;
            let change = OrgUpdate {
                name: a.name,
                display_name: a.display_name,
                tagline: a.tagline,
                color_primary: a.color,
                contact_email: a.contact_email,
                status: a.status,
                frame_ancestors: a.frame_ancestors,
            };
            let org = kash_service::orgs::update(svc, &org.id, &change, &actor()).await?;
            emit(json_out, &org_json(&org), || {
                format!("updated organization {} ({})", org.id, org.slug)
            })
        }
        OrgsCmd::Suspend { org } => set_status(svc, &org, "suspended", json_out).await,
        OrgsCmd::Activate { org } => set_status(svc, &org, "active", json_out).await,
        OrgsCmd::SetRevenueShare {
            org,
            bps,
            brackets,
            clear_brackets,
        } => {
            let org = org_ref(svc, &org).await?;
            let change = match (brackets, clear_brackets) {
                (Some(list), _) => BracketsChange::Set(list),
                (None, true) => BracketsChange::Clear,
                (None, false) => BracketsChange::Keep,
            };
            let org =
                kash_service::orgs::set_revenue_share(svc, &org.id, bps, &change, &actor()).await?;
            emit(json_out, &org_json(&org), || {
                format!(
                    "organization {} now earns {} bps{}",
                    org.id,
                    org.revenue_share_bps,
                    org.revenue_brackets
                        .as_deref()
                        .and_then(|b| kash_core::revenue::Brackets::from_json(b).ok())
                        .map(|b| format!(" with brackets {}", b.to_list()))
                        .unwrap_or_default()
                )
            })
        }
        OrgsCmd::Settle { org } => {
            let org = match org {
                Some(o) => Some(org_ref(svc, &o).await?.id),
                None => None,
            };
            let settled = kash_service::revenue::settle(svc, org.as_deref()).await?;
            let items: Vec<Value> = settled
                .iter()
                .map(|s| {
                    json!({
                        "organizationId": s.organization_id,
                        "amountUsdc": s.amount_atomic.to_string(),
                        "accruals": s.accruals,
                        "eventId": s.event_id,
                        "payableUsdc": s.payable_after_atomic.to_string(),
                    })
                })
                .collect();
            emit(json_out, &json!({ "settled": items }), || {
                if settled.is_empty() {
                    return "nothing to settle".to_string();
                }
                settled
                    .iter()
                    .map(|s| {
                        format!(
                            "organization {}: {} USDC now payable ({} accruals)",
                            s.organization_id,
                            human(s.amount_atomic),
                            s.accruals
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        OrgsCmd::Payout { org, usdc } => {
            let org = org_ref(svc, &org).await?;
            let amount = match usdc {
                Some(u) => Some(super::accounts::usdc_arg("--usdc", &u)?),
                None => None,
            };
            let p = kash_service::revenue::payout(svc, &org.id, amount, &actor()).await?;
            emit(
                json_out,
                &json!({
                    "organizationId": p.organization_id,
                    "amountUsdc": p.amount_atomic.to_string(),
                    "payableUsdc": p.payable_after_atomic.to_string(),
                    "balanceUsdc": p.balance_after_atomic.to_string(),
                    "eventId": p.event_id,
                    "ledgerTransactionId": p.ledger_tx_id,
                }),
                || {
                    format!(
                        "paid {} USDC to organization {}; balance now {} USDC, {} USDC still payable",
                        human(p.amount_atomic),
                        p.organization_id,
                        human(p.balance_after_atomic),
                        human(p.payable_after_atomic)
                    )
                },
            )
        }
        OrgsCmd::Members { org } => {
            let org = org_ref(svc, &org).await?;
            let members = kash_service::orgs::members(svc, &org.id).await?;
            let items: Vec<Value> = members.iter().map(member_json).collect();
            emit(json_out, &json!({ "members": items }), || {
                members
                    .iter()
                    .map(|m| format!("{}  {}", m.user_id, m.role))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        OrgsCmd::SetRole { org, user, role } => {
            let org = org_ref(svc, &org).await?;
            let user = uuid_arg("--user", &user)?;
            let m = kash_service::orgs::set_role(svc, &org.id, &user, &role, &actor()).await?;
            emit(json_out, &member_json(&m), || {
                format!(
                    "user {} is now {} of organization {}",
                    m.user_id, m.role, m.org_id
                )
            })
        }
        OrgsCmd::RemoveMember { org, user } => {
            let org = org_ref(svc, &org).await?;
            let user = uuid_arg("--user", &user)?;
            let m = kash_service::orgs::remove_member(svc, &org.id, &user, &actor()).await?;
            emit(
                json_out,
                &json!({ "organizationId": m.org_id, "userId": m.user_id, "removed": true }),
                || format!("user {} left organization {}", m.user_id, m.org_id),
            )
        }
        OrgsCmd::SetKeyCap { org, max_active } => {
            let org = org_ref(svc, &org).await?.id;
            kash_service::keys::set_key_cap(
                svc,
                &kash_core::owner::Owner::Org(org.clone()),
                max_active,
                &actor(),
            )
            .await?;
            emit(
                json_out,
                &json!({ "id": org, "maxActiveKeys": max_active }),
                || format!("organization {org} may now hold {max_active} active keys"),
            )
        }
    }
}

fn human(atomic: i64) -> String {
    let sign = if atomic < 0 { "-" } else { "" };
    format!(
        "{sign}{}",
        kash_core::money::Usdc::from_atomic(atomic.unsigned_abs()).to_human_string()
    )
}
