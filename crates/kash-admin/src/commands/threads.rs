use clap::{Args, Subcommand};
use kash_service::threads::ThreadFields;
use kash_service::Services;
use kash_store::threads::ThreadRecord;
use serde_json::{json, Value};

use super::orgs::org_ref;
use super::{actor, uuid_arg};
use crate::output::{emit, CmdResult};

#[derive(Subcommand, Debug)]
pub enum ThreadsCmd {
    /// Create a thread of an organization.
    Create {
        /// Organization id or slug.
        #[arg(long)]
        org: String,
        #[arg(long)]
        title: String,
        #[command(flatten)]
        fields: FieldArgs,
    },
    /// Edit a thread (empty values clear optional fields).
    Update {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        fields: FieldArgs,
    },
    /// Show one thread.
    Show { id: String },
    /// List an organization's threads, newest first.
    List {
        #[arg(long)]
        org: String,
    },
}

#[derive(Args, Debug, Default)]
pub struct FieldArgs {
    /// Markdown, stored as written.
    #[arg(long)]
    pub description: Option<String>,
    /// Partner id (of the same organization).
    #[arg(long)]
    pub partner: Option<String>,
    /// https:// only.
    #[arg(long)]
    pub image: Option<String>,
    /// https:// only.
    #[arg(long)]
    pub background_image: Option<String>,
    /// Default `general`.
    #[arg(long)]
    pub category: Option<String>,
    /// Comma list.
    #[arg(long)]
    pub tags: Option<String>,
    /// RFC 3339; before it the thread is `upcoming`.
    #[arg(long)]
    pub start_time: Option<String>,
    /// RFC 3339; from it on the thread is `closed`.
    #[arg(long)]
    pub end_time: Option<String>,
}

fn thread_json(t: &ThreadRecord, now_ms: i64) -> Value {
    let time = |ms: Option<i64>| {
        ms.map(|ms| kash_core::time::rfc3339_ms(kash_core::time::from_unix_ms(ms)))
    };
    json!({
        "id": t.id,
        "organizationId": t.org_id,
        "partnerId": t.partner_id,
        "title": t.title,
        "description": t.description,
        "image": t.image,
        "backgroundImage": t.background_image,
        "category": t.category,
        "tags": t.tag_list(),
        "startTime": time(t.start_time),
        "endTime": time(t.end_time),
        "status": kash_service::threads::status(t, now_ms),
    })
}

fn fields(f: FieldArgs) -> ThreadFields {
    ThreadFields {
        description: f.description,
        partner_id: f.partner,
        image: f.image,
        background_image: f.background_image,
        category: f.category,
        tags: f.tags,
        start_time: f.start_time,
        end_time: f.end_time,
        ..ThreadFields::default()
    }
}

pub async fn run(svc: &Services, cmd: ThreadsCmd, json_out: bool) -> CmdResult {
    let now = svc.now_ms();
    match cmd {
        ThreadsCmd::Create {
            org,
            title,
            fields: f,
        } => {
            let org = org_ref(svc, &org).await?;
            let change = ThreadFields {
                title: Some(title),
                ..fields(f)
            };
            let t = kash_service::threads::create(svc, &org.id, &change, &actor()).await?;
            emit(json_out, &thread_json(&t, now), || {
                format!("created thread {} of organization {}", t.id, t.org_id)
            })
        }
        ThreadsCmd::Update {
            id,
            title,
            fields: f,
        } => {
            let id = uuid_arg("ID", &id)?;
            let change = ThreadFields { title, ..fields(f) };
            let t = kash_service::threads::update(svc, &id, &change, &actor()).await?;
            emit(json_out, &thread_json(&t, now), || {
                format!(
                    "updated thread {} ({})",
                    t.id,
                    kash_service::threads::status(&t, now)
                )
            })
        }
        ThreadsCmd::Show { id } => {
            let id = uuid_arg("ID", &id)?;
            let t = kash_service::threads::get(svc, &id).await?;
            emit(json_out, &thread_json(&t, now), || {
                format!(
                    "{} {}  {}  category {}",
                    t.id,
                    t.title,
                    kash_service::threads::status(&t, now),
                    t.category
                )
            })
        }
        ThreadsCmd::List { org } => {
            let org = org_ref(svc, &org).await?;
            let query = kash_store::threads::ThreadQuery {
                org_id: Some(org.id.clone()),
                descending: true,
                limit: i64::MAX,
                now_ms: now,
                // Operators see the threads of suspended organizations too.
                include_suspended: true,
                ..Default::default()
            };
            let (_, rows) = kash_store::threads::list(&svc.db, &query).await?;
            let items: Vec<Value> = rows.iter().map(|t| thread_json(t, now)).collect();
            emit(json_out, &json!({ "threads": items }), || {
                rows.iter()
                    .map(|t| {
                        format!(
                            "{}  {:<9} {}",
                            t.id,
                            kash_service::threads::status(t, now),
                            t.title
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}
