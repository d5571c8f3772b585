//! API keys: create (the secret is returned this once), list, revoke. The
//! same functions serve `/v1/keys` and the offline `ragd keys` commands;
//! they work on the metadata store's key table alone.

use ragd_api::{CreateKey, CreatedKey, KeyInfo};

use super::collections::validate_name;
use crate::auth::secret;
use crate::error::ApiError;
use crate::meta::{KeyRow, MetaStore, now_rfc3339};

/// Longest lifetime a key can be given (about 100 years).
const MAX_EXPIRES_SECS: u64 = 100 * 366 * 86_400;

/// Make a key; [`CreatedKey::secret`] is the only copy of it.
pub async fn create(store: &dyn MetaStore, req: CreateKey) -> Result<CreatedKey, ApiError> {
    validate_name(&req.name)?;
    for c in &req.collections {
        validate_name(c).map_err(|_| {
            ApiError::invalid("collections", format!("{c:?} is not a collection name"))
        })?;
    }
    let now = chrono::Utc::now();
    let expires_at = match req.expires_in_secs {
        None => None,
        Some(s) if (1..=MAX_EXPIRES_SECS).contains(&s) => Some(
            (now + chrono::Duration::seconds(s as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        Some(s) => {
            return Err(ApiError::invalid(
                "expires_in_secs",
                format!("must be 1..={MAX_EXPIRES_SECS} seconds, got {s}"),
            ));
        }
    };
    let mut collections = req.collections;
    collections.sort();
    collections.dedup();
    let (id, key) = secret::generate()
        .map_err(|e| ApiError::Internal(format!("no randomness for a new key: {e}")))?;
    let row = KeyRow {
        id,
        name: req.name,
        hash: secret::hash(key.expose()),
        scope: req.scope,
        collections,
        created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        expires_at,
        revoked_at: None,
    };
    store.create_key(&row).await?;
    Ok(CreatedKey {
        key: row.info(),
        secret: key.expose().to_string(),
    })
}

/// Every key (revoked ones too), by name, without secrets.
pub async fn list(store: &dyn MetaStore) -> Result<Vec<KeyInfo>, ApiError> {
    Ok(store.list_keys().await?.iter().map(KeyRow::info).collect())
}

/// Revoke the key named `name`; revoking twice keeps the first time.
pub async fn revoke(store: &dyn MetaStore, name: &str) -> Result<KeyInfo, ApiError> {
    store
        .revoke_key(name, &now_rfc3339())
        .await?
        .map(|r| r.info())
        .ok_or_else(|| ApiError::KeyNotFound(name.to_string()))
}

/// A lifetime such as `90s`, `15m`, `12h`, `30d` or `2w`, in seconds.
pub fn parse_lifetime(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit, like 30d"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "{s:?}: the unit is one of s, m, h, d, w (like 30d)"
            ));
        }
    };
    match n.checked_mul(unit) {
        Some(0) | None => Err(format!("{s:?}: must be at least 1s")),
        Some(secs) => Ok(secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::KeyStore;

    #[test]
    fn lifetimes_parse_with_their_unit() {
        assert_eq!(parse_lifetime("30d"), Ok(30 * 86_400));
        assert_eq!(parse_lifetime("90s"), Ok(90));
        assert_eq!(parse_lifetime("2w"), Ok(14 * 86_400));
        for bad in ["", "30", "d", "0d", "3 days", "-1d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn keys_are_created_listed_and_revoked_without_their_secret() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::meta::sqlite::SqliteStore::open(dir.path(), 2)
            .await
            .unwrap();
        let req = |name: &str| CreateKey {
            name: name.into(),
            scope: ragd_api::KeyScope::Query,
            collections: vec!["b".into(), "a".into(), "a".into()],
            expires_in_secs: Some(3600),
        };
        let made = create(&store, req("reader")).await.unwrap();
        assert_eq!(made.key.collections, ["a", "b"]);
        assert!(made.key.expires_at.is_some());
        let stored = store.find_key(&made.key.id).await.unwrap().unwrap();
        assert!(secret::matches(&made.secret, &stored.hash));
        assert!(!stored.hash.contains(&made.secret));
        match create(&store, req("reader")).await {
            Err(ApiError::KeyExists(n)) => assert_eq!(n, "reader"),
            other => panic!("expected KeyExists, got {other:?}"),
        }
        let listed = list(&store).await.unwrap();
        assert_eq!(listed, vec![made.key.clone()]);
        let revoked = revoke(&store, "reader").await.unwrap();
        let at = revoked.revoked_at.clone().expect("revoked");
        let again = revoke(&store, "reader").await.unwrap();
        assert_eq!(
            again.revoked_at,
            Some(at),
            "the first revocation time stays"
        );
        assert!(matches!(
            revoke(&store, "nobody").await,
            Err(ApiError::KeyNotFound(_))
        ));
    }
}
