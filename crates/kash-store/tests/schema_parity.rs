//! Both back-ends are first-class: migrated from empty, SQLite and PostgreSQL must end with the
//! same tables, the same columns in the same order, and the same nullability.

use std::collections::BTreeMap;

use kash_store::{Db, PoolSettings};
use kash_testkit::{Backend, TestDb};
use sqlx::Row;

type Schema = BTreeMap<String, Vec<(String, bool)>>;

async fn schema(backend: Backend) -> Schema {
    let test_db = TestDb::new(backend).await;
    let db = Db::connect(&test_db.url, &PoolSettings::default())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    // A second run applies nothing and fails nothing (forward-only, idempotent start).
    db.migrate().await.unwrap();
    let mut out = Schema::new();
    match backend {
        Backend::Sqlite => {
            let tables = sqlx::query(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name",
            )
            .fetch_all(db.reader())
            .await
            .unwrap();
            for t in tables {
                let name: String = t.get("name");
                let cols = sqlx::query(&format!(
                    "SELECT name, \"notnull\" AS nn, pk FROM pragma_table_info('{name}') ORDER BY cid"
                ))
                .fetch_all(db.reader())
                .await
                .unwrap();
                let cols = cols
                    .iter()
                    .map(|c| {
                        let nn: i64 = c.get("nn");
                        let pk: i64 = c.get("pk");
                        (c.get::<String, _>("name"), nn == 1 || pk > 0)
                    })
                    .collect();
                out.insert(name, cols);
            }
        }
        Backend::Postgres => {
            let rows = sqlx::query(
                "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c, \
                 CAST(is_nullable AS TEXT) AS n FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx_%' \
                 ORDER BY table_name, ordinal_position",
            )
            .fetch_all(db.reader())
            .await
            .unwrap();
            for r in rows {
                let nullable: String = r.get("n");
                out.entry(r.get("t"))
                    .or_default()
                    .push((r.get("c"), nullable == "NO"));
            }
        }
    }
    db.close().await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_match() {
    let sqlite = schema(Backend::Sqlite).await;
    let postgres = schema(Backend::Postgres).await;
    assert!(sqlite.contains_key("api_keys") && sqlite.contains_key("audit_events"));
    assert_eq!(
        sqlite.keys().collect::<Vec<_>>(),
        postgres.keys().collect::<Vec<_>>(),
        "table sets differ"
    );
    for (table, cols) in &sqlite {
        assert_eq!(Some(cols), postgres.get(table), "columns of {table} differ");
    }
}
