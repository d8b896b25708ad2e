//! One round trip for many writes. The trade path's writes (ledger posting, balances, position,
//! market state, trade, accrual, trace, outbox event) are rendered into one SQL script with
//! literal values and executed as a single command, instead of a dozen statements each paying
//! a driver round trip. Every value is rendered by [`Lit`]: integers as digits, text as a
//! standard SQL string literal with `'` doubled (both engines treat backslashes literally), so
//! no input can change the statement's shape.

use std::fmt::Write;

use sqlx::AnyConnection;

use crate::StoreError;

/// A literal value.
pub enum Lit<'a> {
    Int(i64),
    Text(&'a str),
    Null,
}

impl Lit<'_> {
    fn render(&self, out: &mut String) {
        match self {
            Lit::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Lit::Text(s) => {
                out.push('\'');
                for c in s.chars() {
                    if c == '\'' {
                        out.push('\'');
                    }
                    out.push(c);
                }
                out.push('\'');
            }
            Lit::Null => out.push_str("NULL"),
        }
    }
}

impl<'a> From<&'a str> for Lit<'a> {
    fn from(s: &'a str) -> Self {
        Lit::Text(s)
    }
}

impl<'a> From<&'a String> for Lit<'a> {
    fn from(s: &'a String) -> Self {
        Lit::Text(s)
    }
}

impl<'a> From<&'a Option<String>> for Lit<'a> {
    fn from(s: &'a Option<String>) -> Self {
        s.as_deref().map(Lit::Text).unwrap_or(Lit::Null)
    }
}

impl From<i64> for Lit<'_> {
    fn from(v: i64) -> Self {
        Lit::Int(v)
    }
}

impl From<Option<i64>> for Lit<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map(Lit::Int).unwrap_or(Lit::Null)
    }
}

/// Statements to run together.
#[derive(Debug, Default, Clone)]
pub struct Script {
    sql: String,
}

impl Script {
    pub fn new() -> Self {
        Script::default()
    }

    /// Appends `template` with each `?` replaced by the next literal (templates contain no
    /// other `?`).
    pub fn push(&mut self, template: &str, values: &[Lit<'_>]) {
        let mut values = values.iter();
        for c in template.chars() {
            if c == '?' {
                match values.next() {
                    Some(v) => v.render(&mut self.sql),
                    None => self.sql.push_str("NULL"),
                }
            } else {
                self.sql.push(c);
            }
        }
        self.sql.push_str(";\n");
    }

    pub fn is_empty(&self) -> bool {
        self.sql.is_empty()
    }

    /// Runs every statement, in order, in `conn`'s transaction.
    pub async fn run(self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        if self.sql.is_empty() {
            return Ok(());
        }
        // A query without arguments runs every statement of the text (SQLite steps through
        // them; PostgreSQL takes them as one simple-protocol query).
        sqlx::Executor::execute(conn, self.sql.as_str()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_cannot_escape() {
        let mut s = Script::new();
        s.push(
            "INSERT INTO t (a, b, c) VALUES (?, ?, ?)",
            &[Lit::Text("x'); DROP TABLE t; --"), Lit::Int(-5), Lit::Null],
        );
        assert_eq!(
            s.sql,
            "INSERT INTO t (a, b, c) VALUES ('x''); DROP TABLE t; --', -5, NULL);\n"
        );
    }
}
