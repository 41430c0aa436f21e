//! How the PostgreSQL store names the database and words what its server
//! says.

use std::path::Path;

use crate::store::StoreError;

/// What the server or the client library said, as a store error naming
/// the database `name`: data that breaks the schema's rules or a schema
/// not ours is [`StoreError::Corrupt`]; anything else (refused, lost,
/// timed out, terminated, login refused) is [`StoreError::Io`].
pub(super) fn error(name: &Path, error: &postgres::Error) -> StoreError {
    let corrupt = error.code().is_some_and(|code| {
        let code = code.code();
        // Data exceptions, integrity violations, syntax errors and
        // undefined objects, internal damage.
        ["22", "23", "42", "XX001", "XX002"]
            .iter()
            .any(|class| code.starts_with(class))
    });
    let detail = match error.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => chain(error),
    };
    let path = name.to_owned();
    if corrupt {
        StoreError::Corrupt { path, detail }
    } else {
        StoreError::Io { path, detail }
    }
}

/// An unsigned number as the database's `BIGINT`.
pub(super) fn int(name: &Path, value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt {
        path: name.to_owned(),
        detail: format!("{what} {value} exceeds BIGINT"),
    })
}

/// An error and its causes, in one line.
pub(super) fn chain(error: &dyn std::error::Error) -> String {
    let mut detail = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !detail.contains(&cause_text) {
            detail = format!("{detail}: {cause_text}");
        }
        source = cause.source();
    }
    detail
}
