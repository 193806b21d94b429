//! Comparing two versions of an article's text, line by line: what a
//! revision added and removed. A longest-common-subsequence diff after
//! trimming the shared start and end, which is what edits to an article
//! mostly leave; past a size cap it says "replaced" rather than spend
//! quadratic time.

/// One line of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    Same(&'a str),
    Added(&'a str),
    Removed(&'a str),
}

/// Above this many cells (old lines × new lines in the changed middle),
/// the middle is shown as removed then added.
const MAX_CELLS: usize = 4_000_000;

/// The lines of `old` and `new` in order, each marked same, added or
/// removed.
pub fn line_diff<'a>(old: &'a str, new: &'a str) -> Vec<Line<'a>> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<Line> = a[..prefix].iter().map(|l| Line::Same(l)).collect();
    if am.len().saturating_mul(bm.len()) > MAX_CELLS {
        out.extend(am.iter().map(|l| Line::Removed(l)));
        out.extend(bm.iter().map(|l| Line::Added(l)));
    } else {
        // lcs[i][j]: length of the longest common subsequence of am[i..], bm[j..].
        let (n, m) = (am.len(), bm.len());
        let mut lcs = vec![0u32; (n + 1) * (m + 1)];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * (m + 1) + j] = if am[i] == bm[j] {
                    lcs[(i + 1) * (m + 1) + j + 1] + 1
                } else {
                    lcs[(i + 1) * (m + 1) + j].max(lcs[i * (m + 1) + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                out.push(Line::Same(am[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1]) {
                // Removals first, so an edited line reads old then new.
                out.push(Line::Removed(am[i]));
                i += 1;
            } else {
                out.push(Line::Added(bm[j]));
                j += 1;
            }
        }
    }
    out.extend(a[a.len() - suffix..].iter().map(|l| Line::Same(l)));
    out
}

/// Whether a comparison found any change.
pub fn changed(diff: &[Line]) -> bool {
    diff.iter().any(|l| !matches!(l, Line::Same(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Line::*;

    #[test]
    fn identical_texts_are_all_same() {
        let d = line_diff("a\nb", "a\nb");
        assert_eq!(d, vec![Same("a"), Same("b")]);
        assert!(!changed(&d));
    }

    #[test]
    fn an_edited_line_is_removed_then_added_in_place() {
        assert_eq!(
            line_diff("one\ntwo\nthree", "one\nTWO\nthree"),
            vec![Same("one"), Removed("two"), Added("TWO"), Same("three")]
        );
    }

    #[test]
    fn insertions_and_deletions_keep_the_common_lines() {
        assert_eq!(
            line_diff("a\nb\nc\nd", "a\nc\nd\ne"),
            vec![Same("a"), Removed("b"), Same("c"), Same("d"), Added("e")]
        );
        assert_eq!(line_diff("", "x"), vec![Added("x")]);
        assert_eq!(line_diff("x", ""), vec![Removed("x")]);
    }

    #[test]
    fn moved_paragraphs_keep_the_longest_common_run() {
        let d = line_diff("p1\np2\np3\np4", "p3\np4\np1\np2");
        let same = d.iter().filter(|l| matches!(l, Same(_))).count();
        assert_eq!(same, 2);
        // Every line of both sides appears exactly once.
        assert_eq!(d.len(), 6);
    }

    #[test]
    fn huge_changes_fall_back_to_replaced() {
        let old: String = (0..3000).map(|i| format!("o{i}\n")).collect();
        let new: String = (0..3000).map(|i| format!("n{i}\n")).collect();
        let d = line_diff(&old, &new);
        assert_eq!(d.len(), 6000);
        assert!(matches!(d[0], Removed("o0")));
        assert!(matches!(d[3000], Added("n0")));
    }
}
