//! Pieces shared by every server-rendered page — the console, the Partner Portal, the iframes
//! and the public market page: safe markdown and charts drawn as inline SVG (no chart library,
//! no CDN, nothing from another host).

pub mod assets;
pub mod charts;
pub mod markdown;
