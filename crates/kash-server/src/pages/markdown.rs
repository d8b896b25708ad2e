//! Markdown written by organizations (thread descriptions) rendered for anonymous visitors.
//! Raw HTML in the source is shown as text, never passed through, and links or images may only
//! point at `https:`, `http:` or `mailto:` — so a description cannot carry script.

use maud::{Markup, PreEscaped};
use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag, TagEnd};

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

/// The rendered HTML of `source`.
pub fn render(source: &str) -> Markup {
    let parser = Parser::new_ext(source, Options::ENABLE_STRIKETHROUGH).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_url(&dest_url) => Event::Start(Tag::Link {
            link_type,
            dest_url: CowStr::Borrowed("#"),
            title,
            id,
        }),
        // An image becomes its alt text: a visitor's browser fetches nothing from elsewhere.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {
            Event::Text(CowStr::Borrowed(""))
        }
        other => other,
    });
    let mut out = String::with_capacity(source.len() * 2);
    html::push_html(&mut out, parser);
    PreEscaped(out)
}

/// Plain text of `source` (for ARIA labels and one-line previews), at most `max` characters.
pub fn plain(source: &str, max: usize) -> String {
    let mut out = String::new();
    for event in Parser::new(source) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&t)
            }
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item)
                if !out.ends_with(' ') && !out.is_empty() =>
            {
                out.push(' ')
            }
            _ => {}
        }
    }
    let out = out.trim();
    match out.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", out[..cut].trim_end()),
        None => out.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_and_raw_html_are_text() {
        let html =
            render("Hello <script>alert(1)</script> **bold**\n\n<img src=x onerror=alert(1)>")
                .into_string();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
    }

    #[test]
    fn only_web_links_survive() {
        let html =
            render("[a](javascript:alert(1)) [b](https://example.com) [c](data:text/html,x)")
                .into_string();
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
    }

    #[test]
    fn images_fetch_nothing() {
        let html = render("![logo](https://evil.example/x.png)").into_string();
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("logo"), "{html}");
    }

    #[test]
    fn plain_text_is_cut_at_a_character_boundary() {
        assert_eq!(plain("**Été** à _Paris_", 100), "Été à Paris");
        assert_eq!(plain("ééééé", 3), "ééé…");
    }
}
