use clap::Subcommand;
use kash_service::Services;
use serde_json::json;

use super::{actor, uuid_arg};
use crate::output::{emit, CmdResult};

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
            let org = uuid_arg("--org", &org)?;
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
            let org = uuid_arg("--org", &org)?;
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
        OrgsCmd::SetKeyCap { org, max_active } => {
            let org = uuid_arg("--org", &org)?;
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
