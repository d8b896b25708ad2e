//! Threads: creation and edits. `description` is markdown and stored as written (whoever
//! renders it escapes it); `status` is never stored — it is derived from the times on read.

use kash_core::ids::{id_text, new_id, parse_uuid};
use kash_core::{Issue, Problem};
use kash_store::threads::{self, ThreadRecord};
use kash_store::{orgs, partners};
use serde_json::json;

use crate::{audit, fields, ServiceError, Services};

pub const DEFAULT_CATEGORY: &str = "general";
pub const MAX_TITLE: usize = 200;
pub const MAX_DESCRIPTION: usize = 10_000;
pub const MAX_CATEGORY: usize = 50;

/// A thread's fields; on update `None` keeps a field and `Some("")` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct ThreadFields {
    pub title: Option<String>,
    pub description: Option<String>,
    pub partner_id: Option<String>,
    pub image: Option<String>,
    pub background_image: Option<String>,
    pub category: Option<String>,
    /// Comma list.
    pub tags: Option<String>,
    /// RFC 3339.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

fn time_field(
    field: &str,
    new: &Option<String>,
    old: Option<i64>,
    issues: &mut Vec<Issue>,
) -> Option<i64> {
    match new.as_deref().map(str::trim) {
        None => old,
        Some("") => None,
        Some(text) => match kash_core::time::parse_rfc3339(text) {
            Some(t) => Some(t.timestamp_millis()),
            None => {
                issues.push(Issue::new(field, "must be an RFC 3339 time"));
                None
            }
        },
    }
}

async fn merged(
    svc: &Services,
    base: &ThreadRecord,
    f: &ThreadFields,
) -> Result<(ThreadRecord, Vec<String>), ServiceError> {
    let mut issues = Vec::new();
    let pick = |new: &Option<String>, old: &Option<String>| match new {
        Some(v) => Some(v.clone()),
        None => old.clone(),
    };
    let title = fields::required_text(
        "title",
        f.title.as_deref().unwrap_or(&base.title),
        MAX_TITLE,
        &mut issues,
    );
    let description = f
        .description
        .clone()
        .unwrap_or_else(|| base.description.clone());
    if description.chars().count() > MAX_DESCRIPTION {
        issues.push(Issue::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        ));
    }
    let category = match f.category.as_deref().map(str::trim) {
        None => base.category.clone(),
        Some("") => DEFAULT_CATEGORY.to_string(),
        Some(c) => fields::required_text("category", &c.to_lowercase(), MAX_CATEGORY, &mut issues),
    };
    let tags = match &f.tags {
        Some(text) => fields::tags("tags", text, &mut issues),
        None => base.tag_list(),
    };
    let start_time = time_field("startTime", &f.start_time, base.start_time, &mut issues);
    let end_time = time_field("endTime", &f.end_time, base.end_time, &mut issues);
    if let (Some(s), Some(e)) = (start_time, end_time) {
        if e <= s {
            issues.push(Issue::new("endTime", "must be after startTime"));
        }
    }
    let partner_id = match f.partner_id.as_deref().map(str::trim) {
        None => base.partner_id.clone(),
        Some("") => None,
        Some(text) => match parse_uuid(text) {
            Some(id) => {
                let id = id_text(&id);
                match partners::get(svc.db.reader(), &id).await? {
                    Some(p) if p.org_id == base.org_id => Some(id),
                    _ => {
                        issues.push(Issue::new(
                            "partnerId",
                            "is not a partner of this organization",
                        ));
                        None
                    }
                }
            }
            None => {
                issues.push(Issue::new("partnerId", "must be a UUID"));
                None
            }
        },
    };
    let record = ThreadRecord {
        title,
        description,
        partner_id,
        image: fields::https_url("image", pick(&f.image, &base.image).as_deref(), &mut issues),
        background_image: fields::https_url(
            "backgroundImage",
            pick(&f.background_image, &base.background_image).as_deref(),
            &mut issues,
        ),
        category,
        tags: serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
        start_time,
        end_time,
        ..base.clone()
    };
    if issues.is_empty() {
        Ok((record, tags))
    } else {
        Err(Problem::validation(issues).into())
    }
}

pub async fn create(
    svc: &Services,
    org_id: &str,
    f: &ThreadFields,
    actor: &str,
) -> Result<ThreadRecord, ServiceError> {
    if orgs::get(svc.db.reader(), org_id).await?.is_none() {
        return Err(Problem::not_found(format!("organization {org_id} does not exist")).into());
    }
    let now = svc.now_ms();
    let base = ThreadRecord {
        id: id_text(&new_id()),
        org_id: org_id.to_string(),
        partner_id: None,
        title: String::new(),
        description: String::new(),
        image: None,
        background_image: None,
        category: DEFAULT_CATEGORY.to_string(),
        tags: "[]".into(),
        start_time: None,
        end_time: None,
        created_at: now,
        updated_at: now,
    };
    let (record, tags) = merged(svc, &base, f).await?;
    let mut tx = svc.db.begin().await?;
    threads::insert(&mut *tx, &record).await?;
    threads::set_tags(&mut tx, &record.id, &tags).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "thread_created",
        actor,
        None,
        json!({ "organizationId": org_id, "threadId": record.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(record)
}

fn unknown(id: &str) -> ServiceError {
    Problem::not_found(format!("thread {id} does not exist")).into()
}

pub async fn update(
    svc: &Services,
    thread_id: &str,
    f: &ThreadFields,
    actor: &str,
) -> Result<ThreadRecord, ServiceError> {
    let current = threads::get(svc.db.reader(), thread_id)
        .await?
        .ok_or_else(|| unknown(thread_id))?;
    let (mut record, tags) = merged(svc, &current, f).await?;
    record.updated_at = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    threads::update(&mut *tx, &record).await?;
    threads::set_tags(&mut tx, &record.id, &tags).await?;
    audit::lifecycle(
        &mut *tx,
        record.updated_at,
        "thread_updated",
        actor,
        None,
        json!({ "organizationId": record.org_id, "threadId": record.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(record)
}

pub async fn get(svc: &Services, thread_id: &str) -> Result<ThreadRecord, ServiceError> {
    threads::get(svc.db.reader(), thread_id)
        .await?
        .ok_or_else(|| unknown(thread_id))
}

/// The derived status at `now_ms`: `upcoming` before the start, `closed` from the end on,
/// otherwise `active`.
pub fn status(t: &ThreadRecord, now_ms: i64) -> &'static str {
    if t.start_time.is_some_and(|s| now_ms < s) {
        "upcoming"
    } else if t.end_time.is_some_and(|e| e <= now_ms) {
        "closed"
    } else {
        "active"
    }
}
