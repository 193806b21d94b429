//! The access decision's result: what part of an article's text a response
//! may carry.
//!
//! Every route that can carry article text asks the store for the body
//! *through* a `Decision` (see `masthead_store::content::find_body`), so the
//! rule that produces the decision can change without touching any route.

use serde::Serialize;

/// What part of an article body a reader receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Decision {
    /// Every block of the body.
    Full,
    /// Only the first `blocks` blocks; the rest never leaves the server.
    Preview { blocks: u32 },
}

impl Decision {
    /// How many of `total` blocks this decision lets through.
    pub fn visible_blocks(self, total: u32) -> u32 {
        match self {
            Decision::Full => total,
            Decision::Preview { blocks } => blocks.min(total),
        }
    }

    /// A short, stable tag used in cache keys and ETags.
    pub fn variant_key(self) -> String {
        match self {
            Decision::Full => "full".to_string(),
            Decision::Preview { blocks } => format!("preview{blocks}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_never_exceeds_the_body() {
        assert_eq!(Decision::Preview { blocks: 3 }.visible_blocks(2), 2);
        assert_eq!(Decision::Preview { blocks: 3 }.visible_blocks(10), 3);
        assert_eq!(Decision::Full.visible_blocks(10), 10);
    }
}
