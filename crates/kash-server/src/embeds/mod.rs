//! Embed tracking (`organizations-embeds-portal.md` §3): renders and clicks are counted in
//! memory on the request path and flushed to the daily counters at least every 5 s and on
//! graceful shutdown. Tracking is analytics only: nothing here is read by the revenue path.

pub mod source;
pub mod targets;
pub mod tracker;
pub mod viewer;

/// What an embed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmbedKind {
    Market,
    Thread,
    Organization,
}

impl EmbedKind {
    pub const ALL: [EmbedKind; 3] = [
        EmbedKind::Market,
        EmbedKind::Thread,
        EmbedKind::Organization,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            EmbedKind::Market => "market",
            EmbedKind::Thread => "thread",
            EmbedKind::Organization => "organization",
        }
    }

    pub fn parse(text: &str) -> Option<EmbedKind> {
        EmbedKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// The UTC day of a time, `YYYY-MM-DD`, as the counters are keyed.
pub fn utc_day(ms: i64) -> String {
    kash_core::time::from_unix_ms(ms)
        .format("%Y-%m-%d")
        .to_string()
}
