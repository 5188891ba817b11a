//! What resolving `IF`/`FOR` learned about each block, recorded for lint: whether an arm
//! can ever be taken whatever the build args and platform, whether a loop always has no
//! items, whether a block is empty. The template layer only records; `lint` judges.

use crate::syntax::Span;

/// Which kind of block head a fact is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BlockKind {
    /// `IF cond`.
    If,
    /// `ELSE IF cond`.
    ElseIf,
    /// `ELSE`.
    Else,
    /// `FOR NAME IN …`.
    For,
}

impl BlockKind {
    /// The keyword(s) as a user writes them, for messages.
    pub fn keyword(self) -> &'static str {
        match self {
            BlockKind::If => "IF",
            BlockKind::ElseIf => "ELSE IF",
            BlockKind::Else => "ELSE",
            BlockKind::For => "FOR",
        }
    }
}

/// One evaluation of one block head. A head inside a `FOR` body or a parameterised stage
/// is evaluated once per iteration or instance and has one fact each time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockFact {
    /// What the head is.
    pub kind: BlockKind,
    /// The head instruction (`IF …`, `ELSE`, `FOR …`).
    pub head: Span,
    /// The condition text as written (`IF`/`ELSE IF`), empty otherwise.
    pub condition: String,
    /// No instruction between the head and the next `ELSE`/`END`.
    pub empty_body: bool,
    /// Whether the arm is taken for every build (`Some(true)`), for none (`Some(false)`),
    /// or depends on build args/platform (`None`). For `FOR`, whether it has items.
    pub always: Option<bool>,
    /// An earlier arm of the same `IF` is taken for every build, so this one never is.
    pub shadowed: bool,
}
