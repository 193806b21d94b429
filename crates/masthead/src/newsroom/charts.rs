//! Charts drawn on the server as SVG: a bar per day, the axis labelled
//! with the peak, a title for screen readers. Only attributes, no inline
//! styles, so the strict CSP holds.

/// Escapes text for SVG/XML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar chart of `values` (one per day, oldest first), `width`×`height`
/// pixels, described by `label`.
pub fn bars(label: &str, values: &[i64], width: u32, height: u32) -> String {
    let peak = values.iter().copied().max().unwrap_or(0).max(0);
    let total: i64 = values.iter().copied().filter(|v| *v > 0).sum();
    let n = values.len().max(1) as u32;
    let top = 14; // room for the peak label
    let plot = height.saturating_sub(top + 1).max(1);
    let slot = (width / n).max(1);
    let bar = slot.saturating_sub(1).max(1);
    let mut out = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        esc(&format!("{label}: {total} in {} days, at most {peak} a day", values.len())),
        esc(label)
    );
    out.push_str(&format!(
        "<text x=\"0\" y=\"11\" font-size=\"11\" fill=\"currentColor\">{peak}</text>\
         <line x1=\"0\" y1=\"{y}\" x2=\"{width}\" y2=\"{y}\" stroke=\"currentColor\" stroke-width=\"1\" opacity=\"0.4\"/>",
        y = height - 1
    ));
    for (i, v) in values.iter().enumerate() {
        let v = (*v).max(0);
        let h = if peak > 0 {
            ((v as f64 / peak as f64) * plot as f64).round() as u32
        } else {
            0
        };
        if h == 0 {
            continue;
        }
        let x = i as u32 * slot;
        let y = height - 1 - h;
        out.push_str(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"{bar}\" height=\"{h}\" fill=\"currentColor\"><title>{v}</title></rect>"
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_peak_and_say_what_they_show() {
        let svg = bars("Sign-ups <daily>", &[0, 5, 10], 30, 64);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(
            svg.contains("aria-label=\"Sign-ups &lt;daily&gt;: 15 in 3 days, at most 10 a day\"")
        );
        assert_eq!(svg.matches("<rect").count(), 2, "no bar for a zero day");
        // The peak fills the plot (64 - 14 - 1 = 49 px), half of it half.
        assert!(
            svg.contains("height=\"49\"") && svg.contains("height=\"25\""),
            "{svg}"
        );
        assert!(!svg.contains("style="), "no inline styles under the CSP");
        let empty = bars("Nothing", &[], 10, 20);
        assert!(empty.contains("0 in 0 days") && !empty.contains("<rect"));
    }
}
