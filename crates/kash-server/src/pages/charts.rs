//! Charts as inline SVG, drawn on the server. Values are display numbers (already-converted
//! integers such as cents or basis points); coordinates are integers in a fixed view box that
//! the SVG scales to its container, so no script and no style attribute is needed (the console's
//! CSP forbids both inline). Colours come from CSS classes on the caller's stylesheet.

use maud::{html, Markup};

/// The view box every chart draws in; `preserveAspectRatio="none"` stretches it to the box.
const W: i128 = 1000;
const H: i128 = 300;

/// One line of a [`line_chart`].
pub struct Series<'a> {
    pub name: &'a str,
    /// A CSS class for the stroke (e.g. `s1`, `s2`).
    pub class: &'a str,
    pub values: &'a [i128],
}

fn bounds<'a>(values: impl Iterator<Item = &'a i128>) -> (i128, i128) {
    let (mut lo, mut hi) = (i128::MAX, i128::MIN);
    for &v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0, 1);
    }
    // A flat series is drawn across the middle, not on an edge.
    if lo == hi {
        return (lo - 1, hi + 1);
    }
    (lo, hi)
}

fn points(values: &[i128], lo: i128, hi: i128) -> String {
    let n = values.len() as i128;
    let mut out = String::with_capacity(values.len() * 10);
    for (i, v) in values.iter().enumerate() {
        let x = if n <= 1 {
            W / 2
        } else {
            i as i128 * W / (n - 1)
        };
        let y = H - (v - lo) * H / (hi - lo);
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{x},{y}"));
    }
    out
}

/// A small line without axes (the iframes' price history). Nothing is drawn for fewer than
/// two points; the caller shows its own empty state.
pub fn sparkline(values: &[i128], label: &str) -> Markup {
    let (lo, hi) = bounds(values.iter());
    html! {
        svg.spark viewBox=(format!("0 0 {W} {H}")) preserveAspectRatio="none" role="img" aria-label=(label) {
            @if values.len() >= 2 {
                polyline points=(points(values, lo, hi)) fill="none" vector-effect="non-scaling-stroke" {}
            }
        }
    }
}

/// Several lines over shared x labels (one per value), with the y range written beside it
/// by `format_y` and a legend. Lines share one scale from zero.
pub fn line_chart(
    series: &[Series<'_>],
    x_labels: &[String],
    label: &str,
    format_y: impl Fn(i128) -> String,
) -> Markup {
    let (_, hi) = bounds(series.iter().flat_map(|s| s.values.iter()));
    let hi = hi.max(1);
    html! {
        figure.chart {
            div.chart-plot {
                span.chart-ymax { (format_y(hi)) }
                svg.chart-svg viewBox=(format!("0 0 {W} {H}")) preserveAspectRatio="none" role="img" aria-label=(label) {
                    line.chart-axis x1="0" y1=(H) x2=(W) y2=(H) vector-effect="non-scaling-stroke" {}
                    @for s in series {
                        @if s.values.len() >= 2 {
                            polyline class=(s.class) points=(points(s.values, 0, hi)) fill="none" vector-effect="non-scaling-stroke" {}
                        }
                    }
                }
                span.chart-ymin { (format_y(0)) }
            }
            @if let (Some(first), Some(last)) = (x_labels.first(), x_labels.last()) {
                div.chart-x { span { (first) } span { (last) } }
            }
            @if series.len() > 1 {
                figcaption.chart-legend {
                    @for s in series { span class=(format!("key {}", s.class)) { (s.name) } }
                }
            }
        }
    }
}

/// Horizontal bars, one per `(label, value)`, longest first as given; values below zero draw
/// as empty bars.
pub fn bar_chart(bars: &[(String, i128)], label: &str, format: impl Fn(i128) -> String) -> Markup {
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    html! {
        ul.bars aria-label=(label) {
            @for (name, value) in bars {
                li {
                    span.bar-label { (name) }
                    svg.bar viewBox=(format!("0 0 {W} 10")) preserveAspectRatio="none" aria-hidden="true" {
                        rect x="0" y="0" height="10" width=((*value).max(0) * W / max) {}
                    }
                    span.bar-value { (format(*value)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_span_the_view_box() {
        assert_eq!(points(&[0, 5, 10], 0, 10), "0,300 500,150 1000,0");
        assert_eq!(points(&[7], 6, 8), "500,150");
    }

    #[test]
    fn flat_and_empty_series_do_not_divide_by_zero() {
        assert_eq!(bounds([3, 3].iter()), (2, 4));
        assert_eq!(bounds([].iter()), (0, 1));
        let svg = sparkline(&[], "none").into_string();
        assert!(!svg.contains("polyline"));
        let bars =
            bar_chart(&[("a".into(), 0), ("b".into(), -5)], "x", |v| v.to_string()).into_string();
        assert!(bars.contains("width=\"0\""));
    }
}
