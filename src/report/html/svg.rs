//! Horizontal bar charts as inline SVG: one helper for every chart of the
//! HTML report, so that they look alike and the browser test can count
//! their bars the same way (`rect.bar[data-chart=...]`, one per non-zero
//! row). No script, no external font or style: the page's own CSS styles
//! the text, and the widths are computed here.

use super::{escape, thousands};
use std::fmt::Write;

/// One row of a chart.
pub struct Bar {
    pub label: String,
    pub value: u64,
    /// CSS class giving the bar its colour (e.g. `sev-high`).
    pub class: &'static str,
}

const ROW: u64 = 26;
const LABEL_WIDTH: u64 = 150;
const BAR_WIDTH: u64 = 270;
const WIDTH: u64 = LABEL_WIDTH + BAR_WIDTH + 70;

/// Append a chart named `chart` (its `data-chart`) to `out`. Rows with
/// a zero value keep their label but draw no bar; bars are linear in the
/// value, the largest spanning the whole width.
pub fn bar_chart(out: &mut String, chart: &str, caption: &str, bars: &[Bar]) {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let height = ROW * bars.len() as u64 + 4;
    let _ = write!(
        out,
        "<figure class=\"chart\"><figcaption>{}</figcaption>\
         <svg role=\"img\" data-chart=\"{}\" \
         width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\">",
        escape(caption),
        escape(chart)
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = ROW * i as u64 + 2;
        let text_y = y + ROW / 2 + 5;
        let label = escape(&bar.label);
        let _ = write!(
            out,
            "<text class=\"label\" x=\"{}\" y=\"{text_y}\" text-anchor=\"end\">{label}</text>",
            LABEL_WIDTH - 8
        );
        // At least 2 px, so that a count of 1 beside millions still shows.
        let width = (bar.value * BAR_WIDTH).div_ceil(max).max(2);
        if bar.value > 0 {
            let _ = write!(
                out,
                "<rect class=\"bar {}\" data-chart=\"{}\" data-label=\"{label}\" data-value=\"{}\" \
                 x=\"{LABEL_WIDTH}\" y=\"{}\" width=\"{width}\" height=\"{}\" rx=\"3\">\
                 <title>{label}: {}</title></rect>",
                bar.class,
                escape(chart),
                bar.value,
                y + 3,
                ROW - 6,
                thousands(bar.value)
            );
        }
        let value_x = LABEL_WIDTH + if bar.value > 0 { width } else { 0 } + 6;
        let _ = write!(
            out,
            "<text class=\"value\" x=\"{value_x}\" y=\"{text_y}\">{}</text>",
            thousands(bar.value)
        );
    }
    out.push_str("</svg></figure>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rect_per_non_zero_row_and_labels_escaped() {
        let bars = [
            Bar {
                label: "<b>&".into(),
                value: 3,
                class: "sev-high",
            },
            Bar {
                label: "none".into(),
                value: 0,
                class: "sev-low",
            },
            Bar {
                label: "one".into(),
                value: 1_000_000,
                class: "sev-low",
            },
        ];
        let mut out = String::new();
        bar_chart(&mut out, "test", "A \"chart\"", &bars);
        assert_eq!(out.matches("<rect ").count(), 2);
        assert!(out.contains("&lt;b&gt;&amp;"));
        assert!(!out.contains("<b>"));
        assert!(out.contains("width=\"270\""), "the largest spans the width");
        assert!(out.contains("width=\"2\""), "a tiny value still shows");
        assert!(out.contains(">1,000,000</text>"));
    }
}
