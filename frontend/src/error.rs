//! The frontend's error type. Every error caused by the user's input carries the span of the
//! text that caused it, from the moment it is made; only the gateway edge turns spans into
//! line numbers and BuildKit source maps.

use crate::syntax::Span;

/// Why a build could not be planned or converted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input at a known place in the Dockerfile.
    #[error("{message}")]
    Located {
        /// What is wrong, lower-case, quoting the user's text.
        message: String,
        /// Where.
        span: Span,
    },
    /// Several problems at known places, all reported at once (policy violations): the
    /// first is the primary location, the edge shows every one with its lines.
    #[error("{}", .0.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join("; "))]
    Several(Vec<(Span, String)>),
    /// Bad input with no place in the Dockerfile (a build option, a missing file).
    #[error("{0}")]
    Input(String),
    /// Talking to BuildKit failed.
    #[error(transparent)]
    Gateway(#[from] strata_proto::Error),
    /// The client asked for something this frontend does not offer; BuildKit has typed
    /// errors for these so clients can tell them from a failed build (and fall back).
    #[error(transparent)]
    Unsupported(#[from] Unsupported),
}

/// What a client asked for that this frontend does not offer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    /// A subrequest (`requestid`) we do not answer.
    #[error("unsupported request {0}")]
    Subrequest(String),
    /// A capability named in `frontend.caps` that we lack.
    #[error("unsupported frontend capability {0}")]
    FrontendCap(String),
}

impl Error {
    /// An error about the text at `span`.
    pub fn at(span: Span, message: impl Into<String>) -> Error {
        Error::Located {
            message: message.into(),
            span,
        }
    }

    /// The same message placed at `span` instead: for an error found while reading text that
    /// has no line of its own (an `ONBUILD` trigger, a named context), shown at the
    /// instruction that brought it in. Errors that are not about input stay as they are.
    pub fn relocated(self, span: Span) -> Error {
        match self {
            Error::Located { message, .. } | Error::Input(message) => Error::at(span, message),
            other => other,
        }
    }

    /// The span of the text that caused this error, if it has one.
    pub fn span(&self) -> Option<Span> {
        match self {
            Error::Located { span, .. } => Some(*span),
            Error::Several(all) => all.first().map(|(span, _)| *span),
            _ => None,
        }
    }

    /// Every located problem this error reports, in order: one for [`Error::Located`],
    /// each of [`Error::Several`], none for the others.
    pub fn located(&self) -> Vec<(Span, String)> {
        match self {
            Error::Located { message, span } => vec![(*span, message.clone())],
            Error::Several(all) => all.clone(),
            _ => Vec::new(),
        }
    }
}

/// Results of the frontend's fallible layers.
pub type Result<T, E = Error> = std::result::Result<T, E>;
