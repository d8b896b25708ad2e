//! Response envelopes (`api.md` §1): single resources under their name and `data`, lists with
//! cursor pagination, and `_meta` everywhere.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::gate::Authed;
use crate::http::problem::ApiError;
use crate::http::request_id::RequestContext;
use crate::state::AppState;

/// What a handler knows about its request: id, time, and (on gated routes) the caller.
#[derive(Clone)]
pub struct Ctx {
    pub request_id: String,
    pub now: DateTime<Utc>,
    pub authed: Option<Authed>,
}

impl Ctx {
    /// The caller, on a gated route (the gate guarantees it is there).
    pub fn caller(&self) -> Result<&Authed, ApiError> {
        self.authed
            .as_ref()
            .ok_or_else(|| ApiError::internal("gated handler without an authenticated caller"))
    }

    pub fn meta(&self) -> Meta {
        Meta {
            request_id: self.request_id.clone(),
            timestamp: kash_core::time::rfc3339_ms(self.now),
            idempotent: None,
            message: None,
        }
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Ctx {
            request_id: parts
                .extensions
                .get::<RequestContext>()
                .map(|c| c.request_id.clone())
                .unwrap_or_default(),
            now: state.svc.now(),
            authed: parts.extensions.get::<Authed>().cloned(),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub request_id: String,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `{ "<name>": value, "data": value, "_meta": … }`.
pub struct Single<T> {
    pub name: &'static str,
    pub value: T,
    pub meta: Meta,
}

impl<T: Serialize> Serialize for Single<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry(self.name, &self.value)?;
        map.serialize_entry("data", &self.value)?;
        map.serialize_entry("_meta", &self.meta)?;
        map.end()
    }
}

/// `{ "data": value, "_meta": … }` (account usage and other unnamed payloads).
#[derive(Serialize)]
pub struct Data<T> {
    pub data: T,
    #[serde(rename = "_meta")]
    pub meta: Meta,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub cursor: Option<String>,
    pub has_more: bool,
    pub limit: u32,
}

#[derive(Serialize)]
pub struct List<T> {
    pub data: Vec<T>,
    pub pagination: Pagination,
    #[serde(rename = "_meta")]
    pub meta: Meta,
}
