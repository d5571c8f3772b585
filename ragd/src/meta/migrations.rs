//! The schema migrations of both metadata stores (`ragd/migrations/`),
//! embedded in the binary.
//!
//! sqlx's `migrate!` macro would embed them too, but it needs sqlx's
//! `macros` feature, whose proc-macro crates build sqlx, its PostgreSQL and
//! SQLite drivers and SQLite's C source a second time, for the build host,
//! on every cold build (the first `cargo run` a newcomer waits for). This
//! does the same with `include_str!`: each file becomes a
//! [`Migration`] named, versioned and checksummed exactly as sqlx's own
//! resolver does (so databases migrated by an earlier ragd see the same
//! checksums). A test holds each list to its folder, so a new migration
//! file that is not listed here fails the build's tests.

use std::borrow::Cow;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// `(file name, contents)` of each migration file of `migrations/<dir>`.
macro_rules! embed {
    ($dir:literal: $($file:literal),+ $(,)?) => {
        &[$((
            $file,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $dir, "/", $file)),
        )),+]
    };
}

/// The SQLite store's schema (`migrations/sqlite`).
pub fn sqlite() -> Migrator {
    migrator(embed!("sqlite":
        "0001_initial.sql",
        "0002_chunk_heading.sql",
        "0003_api_keys.sql",
        "0004_pending_vectors.sql",
        "0005_sources.sql",
        "0006_jobs.sql",
    ))
}

/// The PostgreSQL store's schema (`migrations/postgres`).
pub fn postgres() -> Migrator {
    migrator(embed!("postgres":
        "0001_init.sql",
        "0002_api_keys.sql",
        "0003_pending_vectors.sql",
        "0004_documents_in_byte_order.sql",
        "0005_sources.sql",
        "0006_jobs.sql",
    ))
}

/// A migrator from `(file name, SQL)` pairs, read as sqlx reads a
/// migrations folder: `<version>_<description>.sql` (or `.up.sql` /
/// `.down.sql`), underscores in the description read as spaces, and a file
/// starting with `-- no-transaction` run outside a transaction.
fn migrator(files: &[(&'static str, &'static str)]) -> Migrator {
    let migrations = files
        .iter()
        .map(|&(file, sql)| {
            let (version, rest) = file
                .split_once('_')
                .unwrap_or_else(|| panic!("migration file {file} has no `<version>_` prefix"));
            let version: i64 = version
                .parse()
                .unwrap_or_else(|_| panic!("migration file {file}: version is not an integer"));
            let kind = MigrationType::from_filename(rest);
            let description = rest.trim_end_matches(kind.suffix()).replace('_', " ");
            let no_tx = sql.starts_with("-- no-transaction");
            Migration::new(
                version,
                Cow::Owned(description),
                kind,
                SqlStr::from_static(sql),
                no_tx,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Each embedded list is its folder: the same files, read the same way
    /// as sqlx's own resolver reads them (version, description, kind,
    /// checksum, transaction).
    #[tokio::test]
    async fn each_list_matches_its_folder() {
        for (dir, embedded) in [("sqlite", sqlite()), ("postgres", postgres())] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let folder = Migrator::new(path.as_path())
                .await
                .expect("read the folder");
            let view = |m: &Migrator| {
                m.iter()
                    .map(|m| {
                        (
                            m.version,
                            m.description.to_string(),
                            m.migration_type,
                            m.checksum.to_vec(),
                            m.no_tx,
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                view(&embedded),
                view(&folder),
                "ragd/src/meta/migrations.rs lists migrations/{dir}/ differently"
            );
            assert!(!folder.migrations.is_empty());
        }
    }
}
