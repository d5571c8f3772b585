//! Helpers for tests that need live services (PostgreSQL, Redis), shared by
//! ragd's own unit tests and the `ragkit-tests` crate, so that there is one
//! rule and one way to set a database up.
//!
//! The rule: a test that needs a service asks for its URL with
//! [`service_url`]. Without it the test prints `skipped: ...` and returns,
//! unless `RAGKIT_REQUIRE_SERVICES` is set (as `tests/run.sh` sets it): then
//! the test fails, so a run that was meant to exercise the services can
//! never pass by skipping them. `bash tests/services.sh start` starts both
//! servers and prints the variables.
//!
//! Not part of ragd's service; compiled in so that the test crate can use it.

use std::future::Future;

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

/// Variable set by `tests/run.sh`: missing services fail tests.
pub const REQUIRE: &str = "RAGKIT_REQUIRE_SERVICES";
/// The test PostgreSQL's URL (a database the tests may create others from).
pub const PG_URL: &str = "RAGKIT_PG_URL";
/// The test Redis's URL.
pub const REDIS_URL: &str = "RAGKIT_REDIS_URL";

/// Whether missing services fail tests instead of skipping them.
pub fn services_required() -> bool {
    std::env::var_os(REQUIRE).is_some()
}

/// A test's reason to skip: fails the test instead when services are
/// required.
pub fn skip(reason: &str) {
    assert!(
        !services_required(),
        "{reason} (and {REQUIRE} is set; run `bash tests/services.sh start`)"
    );
    eprintln!("skipped: {reason}");
}

/// The value of the environment variable `var`, or `None` after
/// [`skip`]ping.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skip(&format!("{var} is not set"));
            None
        }
    }
}

/// The test PostgreSQL's URL, or `None` (skipped).
pub fn pg_url() -> Option<String> {
    service_url(PG_URL)
}

/// The test Redis's URL, or `None` (skipped).
pub fn redis_url() -> Option<String> {
    service_url(REDIS_URL)
}

/// `base` with its database replaced by `name`.
pub fn with_database_name(base: &str, name: &str) -> String {
    let (main, query) = match base.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (base, None),
    };
    let start = main.find("://").map(|i| i + 3).unwrap_or(0);
    let prefix = match main[start..].find('/') {
        Some(slash) => &main[..start + slash],
        None => main,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// The URL of database `name` on the PostgreSQL at `admin`, created if it
/// does not exist yet (a server restarted on the same data finds it again).
pub async fn ensure_database(admin: &str, name: &str) -> String {
    let mut conn = PgConnection::connect(admin)
        .await
        .expect("connect to the test PostgreSQL");
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await
        .expect("look the database up");
    if exists.is_none() {
        conn.execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .expect("create database");
    }
    let _ = conn.close().await;
    with_database_name(admin, name)
}

/// Runs `body` with the URL of a fresh database on the test PostgreSQL,
/// dropped afterwards (also when `body` panics). Skips (see [`skip`])
/// without `RAGKIT_PG_URL`.
pub async fn with_database<F, Fut>(body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(admin) = pg_url() else { return };
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let url = ensure_database(&admin, &name).await;
    let result = tokio::spawn(body(url)).await;
    let mut conn = PgConnection::connect(&admin)
        .await
        .expect("connect to the test PostgreSQL");
    conn.execute(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .await
    .expect("drop database");
    if let Err(e) = result {
        match e.try_into_panic() {
            Ok(p) => std::panic::resume_unwind(p),
            Err(e) => panic!("test task: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database_name;

    #[test]
    fn database_names_replace_the_path_only() {
        assert_eq!(
            with_database_name("postgres://u@h:5/admin?sslmode=disable", "t_1"),
            "postgres://u@h:5/t_1?sslmode=disable"
        );
        assert_eq!(
            with_database_name("postgres://u@h:5", "t_1"),
            "postgres://u@h:5/t_1"
        );
    }
}
