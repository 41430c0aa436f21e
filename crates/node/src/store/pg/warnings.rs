//! What the server warns of while a write commits.
//!
//! With a synchronous standby, the primary holds a commit's answer until
//! the standby has it. If that wait is cancelled (the trader's
//! `statement_timeout`, an administrator), the server answers with
//! success and a warning: the transaction "has already committed
//! locally, but might not have been replicated to the standby". Taken as
//! a success, that would let a trader acknowledge what only one server
//! holds, and a primary cut off from its standby (or left running beside
//! a promoted one) could still sell. So a write that drew a warning is a
//! write whose outcome is unknown: the trader drops what it held and
//! reloads, as after a lost connection.

use std::{
    path::Path,
    sync::{Arc, Mutex, PoisonError},
};

use postgres::error::Severity;

use crate::store::StoreError;

/// The warnings a session's server sent since they were last taken;
/// shared with the client's notice callback.
#[derive(Debug, Clone, Default)]
pub(super) struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    /// Listens to every session made from `config`: warnings are kept
    /// for [`Warnings::confirm`]; other notices are logged at debug level.
    pub(super) fn listen(&self, config: &mut postgres::Config) {
        let kept = self.clone();
        config.notice_callback(move |notice| {
            if notice.parsed_severity() == Some(Severity::Warning) {
                let text = match notice.detail() {
                    Some(detail) => format!("{} ({detail})", notice.message()),
                    None => notice.message().to_owned(),
                };
                kept.lock().push(text);
            } else {
                tracing::debug!("the store's server says: {}", notice.message());
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets the warnings so far: called as a write begins.
    pub(super) fn clear(&self) {
        self.lock().clear();
    }

    /// Whether the write that just returned stands: an error if the
    /// server warned while it ran.
    ///
    /// # Errors
    /// [`StoreError::Io`] naming the store `name` and the warnings: the
    /// write's outcome is unknown.
    pub(super) fn confirm(&self, name: &Path) -> Result<(), StoreError> {
        let warnings = std::mem::take(&mut *self.lock());
        if warnings.is_empty() {
            return Ok(());
        }
        Err(StoreError::Io {
            path: name.to_owned(),
            detail: format!(
                "the write's outcome is unknown: the server warned \"{}\" \
                 (a synchronous standby that never confirmed it?)",
                warnings.join("\"; \"")
            ),
        })
    }
}
