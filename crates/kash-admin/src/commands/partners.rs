use clap::{Args, Subcommand};
use kash_service::partners::PartnerFields;
use kash_service::Services;
use kash_store::partners::PartnerRecord;
use serde_json::{json, Value};

use super::orgs::org_ref;
use super::{actor, uuid_arg};
use crate::output::{emit, CmdResult};

#[derive(Subcommand, Debug)]
pub enum PartnersCmd {
    /// Create a partner of an organization.
    Create {
        /// Organization id or slug.
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        /// Unique within the organization.
        #[arg(long)]
        slug: String,
        #[command(flatten)]
        fields: FieldArgs,
    },
    /// Edit a partner (empty values clear optional fields).
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        slug: Option<String>,
        /// active or inactive.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        fields: FieldArgs,
    },
    /// Show one partner.
    Show { id: String },
    /// List an organization's partners.
    List {
        #[arg(long)]
        org: String,
    },
    /// Let a user work for the partner.
    AddMember {
        #[arg(long)]
        partner: String,
        #[arg(long)]
        user: String,
    },
    RemoveMember {
        #[arg(long)]
        partner: String,
        #[arg(long)]
        user: String,
    },
}

#[derive(Args, Debug, Default)]
pub struct FieldArgs {
    #[arg(long)]
    pub description: Option<String>,
    #[arg(long)]
    pub display_name: Option<String>,
    /// At most 140 characters.
    #[arg(long)]
    pub tagline: Option<String>,
    /// #RRGGBB.
    #[arg(long)]
    pub color: Option<String>,
    /// https:// only.
    #[arg(long)]
    pub logo_url: Option<String>,
    /// https:// only.
    #[arg(long)]
    pub website_url: Option<String>,
}

fn partner_json(p: &PartnerRecord) -> Value {
    json!({
        "id": p.id,
        "organizationId": p.org_id,
        "name": p.name,
        "slug": p.slug,
        "description": p.description,
        "displayName": p.display_name,
        "tagline": p.tagline,
        "colorPrimary": p.color_primary,
        "logoUrl": p.logo_url,
        "websiteUrl": p.website_url,
        "status": p.status,
    })
}

fn fields(f: FieldArgs) -> PartnerFields {
    PartnerFields {
        description: f.description,
        display_name: f.display_name,
        tagline: f.tagline,
        color_primary: f.color,
        logo_url: f.logo_url,
        website_url: f.website_url,
        ..PartnerFields::default()
    }
}

pub async fn run(svc: &Services, cmd: PartnersCmd, json_out: bool) -> CmdResult {
    match cmd {
        PartnersCmd::Create {
            org,
            name,
            slug,
            fields: f,
        } => {
            let org = org_ref(svc, &org).await?;
            let change = PartnerFields {
                name: Some(name),
                slug: Some(slug),
                ..fields(f)
            };
            let p = kash_service::partners::create(svc, &org.id, &change, &actor()).await?;
            emit(json_out, &partner_json(&p), || {
                format!(
                    "created partner {} ({}) of organization {}",
                    p.id, p.slug, p.org_id
                )
            })
        }
        PartnersCmd::Update {
            id,
            name,
            slug,
            status,
            fields: f,
        } => {
            let id = uuid_arg("ID", &id)?;
            let change = PartnerFields {
                name,
                slug,
                status,
                ..fields(f)
            };
            let p = kash_service::partners::update(svc, &id, &change, &actor()).await?;
            emit(json_out, &partner_json(&p), || {
                format!("updated partner {} ({}, {})", p.id, p.slug, p.status)
            })
        }
        PartnersCmd::Show { id } => {
            let id = uuid_arg("ID", &id)?;
            let p = kash_service::partners::get(svc, &id).await?;
            let members = kash_store::partners::members(svc.db.reader(), &p.id).await?;
            let mut out = partner_json(&p);
            out["memberUserIds"] = json!(members);
            emit(json_out, &out, || {
                format!(
                    "{} ({}) {}  status {}  organization {}  {} member(s)",
                    p.name,
                    p.slug,
                    p.id,
                    p.status,
                    p.org_id,
                    members.len()
                )
            })
        }
        PartnersCmd::List { org } => {
            let org = org_ref(svc, &org).await?;
            let all = kash_service::partners::list(svc, &org.id).await?;
            let items: Vec<Value> = all.iter().map(partner_json).collect();
            emit(json_out, &json!({ "partners": items }), || {
                all.iter()
                    .map(|p| format!("{}  {:<20} {:<8} {}", p.id, p.slug, p.status, p.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        PartnersCmd::AddMember { partner, user } => {
            let partner = uuid_arg("--partner", &partner)?;
            let user = uuid_arg("--user", &user)?;
            kash_service::partners::add_member(svc, &partner, &user, &actor()).await?;
            emit(
                json_out,
                &json!({ "partnerId": partner, "userId": user, "member": true }),
                || format!("user {user} now works for partner {partner}"),
            )
        }
        PartnersCmd::RemoveMember { partner, user } => {
            let partner = uuid_arg("--partner", &partner)?;
            let user = uuid_arg("--user", &user)?;
            kash_service::partners::remove_member(svc, &partner, &user, &actor()).await?;
            emit(
                json_out,
                &json!({ "partnerId": partner, "userId": user, "member": false }),
                || format!("user {user} no longer works for partner {partner}"),
            )
        }
    }
}
