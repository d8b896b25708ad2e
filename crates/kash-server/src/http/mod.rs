//! Wire conventions shared by every route.

pub mod body;
pub mod client_ip;
pub mod cursor;
pub mod envelope;
pub mod etag;
pub mod fallback;
pub mod problem;
pub mod query;
pub mod request_id;
pub mod timeout;
pub mod version;
