//! What the reports need of a durable store: plain SQL over its tables,
//! answered as rows of cells. The audit and the ledger are written once,
//! against this trait, and read SQLite and PostgreSQL alike: both stores
//! keep the same tables and columns, and the queries are the SQL the two
//! share (`$1` parameters, `CAST(… AS BIGINT)` sums).

use std::path::PathBuf;

use super::StoreError;

/// One value of a result row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// SQL `NULL`.
    Null,
    /// An integer column.
    Int(i64),
    /// A text column.
    Text(String),
    /// A blob (`BLOB`, `BYTEA`) column.
    Blob(Vec<u8>),
}

/// A store's tables, read in one consistent snapshot.
pub trait Records {
    /// The store as reports and errors name it: a file, or a redacted URL.
    fn name(&self) -> PathBuf;

    /// Checks the storage itself where the store can (SQLite: every page).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming the first damage found.
    fn check_storage(&mut self) -> Result<(), StoreError>;

    /// Runs `sql` with integer parameters `$1`, `$2`, … and returns every
    /// row. Callers bound the rows (`LIMIT`, `GROUP BY` over peers).
    ///
    /// # Errors
    /// [`StoreError::Io`] or [`StoreError::Corrupt`] naming the store.
    fn query(&mut self, sql: &str, params: &[i64]) -> Result<Vec<Vec<Cell>>, StoreError>;

    /// An error naming the store: its rows say something impossible.
    fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            path: self.name(),
            detail,
        }
    }
}

/// Runs `sql` with `params` and reads every row it answers with `read`.
///
/// # Errors
/// The query's error, or the first that `read` returns.
pub fn read_rows<R: Records + ?Sized, T>(
    records: &mut R,
    sql: &str,
    params: &[i64],
    mut read: impl FnMut(&Row<'_, R>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let rows = records.query(sql, params)?;
    rows.iter()
        .map(|cells| {
            read(&Row {
                records: &*records,
                cells,
            })
        })
        .collect()
}

/// Reads one row's cells by position, naming the column of a bad one.
pub struct Row<'a, R: Records + ?Sized> {
    pub records: &'a R,
    pub cells: &'a [Cell],
}

impl<R: Records + ?Sized> Row<'_, R> {
    fn cell(&self, i: usize) -> Result<&Cell, StoreError> {
        self.cells
            .get(i)
            .ok_or_else(|| self.records.corrupt(format!("a row lacks column {i}")))
    }

    /// A signed integer.
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.cell(i)? {
            Cell::Int(v) => Ok(*v),
            other => Err(self
                .records
                .corrupt(format!("column {i} holds {other:?}, not an integer"))),
        }
    }

    /// A non-negative integer that fits `T`.
    pub fn uint<T: TryFrom<i64>>(&self, i: usize) -> Result<T, StoreError> {
        let v = self.int(i)?;
        T::try_from(v).map_err(|_| {
            self.records
                .corrupt(format!("column {i} holds {v}, out of range"))
        })
    }

    /// An integer, or `None` for `NULL`.
    pub fn opt_uint<T: TryFrom<i64>>(&self, i: usize) -> Result<Option<T>, StoreError> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.uint(i).map(Some),
        }
    }

    /// A text.
    pub fn text(&self, i: usize) -> Result<&str, StoreError> {
        match self.cell(i)? {
            Cell::Text(v) => Ok(v),
            other => Err(self
                .records
                .corrupt(format!("column {i} holds {other:?}, not a text"))),
        }
    }

    /// A blob.
    pub fn blob(&self, i: usize) -> Result<&[u8], StoreError> {
        match self.cell(i)? {
            Cell::Blob(v) => Ok(v),
            other => Err(self
                .records
                .corrupt(format!("column {i} holds {other:?}, not a blob"))),
        }
    }

    /// A product, by its stored name.
    pub fn product(&self, i: usize) -> Result<bazaar_protocol::Product, StoreError> {
        let name = self.text(i)?;
        name.parse()
            .map_err(|e| self.records.corrupt(format!("{e}")))
    }
}
