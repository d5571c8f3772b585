//! Access control of every route, in one place: [`need`] says what a
//! request needs (no key, or a key of at least some scope, and which
//! collection it touches); [`authenticate`] checks the `Authorization:
//! Bearer KEY` header against it and puts the [`Caller`] into the request's
//! extensions.
//!
//! - 401 `unauthenticated` with `WWW-Authenticate: Bearer`: no key, or one
//!   that is unknown, revoked or expired.
//! - 403 `forbidden`: a valid key whose scope is too small, or that is
//!   limited to other collections. It is decided before the handler runs,
//!   so the answer is the same whether or not that collection exists.
//!
//! A key limited to collections may only do what names one of them (and
//! list collections, filtered to its own): creating collections, keys,
//! `/metrics` and `/status` need a key limited to none.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ragd_api::KeyScope;

use crate::app::App;
use crate::auth::{Caller, Denied};
use crate::error::ApiError;

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone: `/health`, `/ready`, `/openapi.json`.
    Open,
    /// A key of at least this scope.
    Key(KeyScope),
}

/// The route table: what `method` on route template `route` needs.
/// Unknown routes need a query key (then answer 404), so that an anonymous
/// client learns nothing about which routes exist beyond the open ones.
pub fn need(method: &Method, route: Option<&str>) -> Need {
    use KeyScope::*;
    let read = matches!(*method, Method::GET | Method::HEAD);
    let scope = match route {
        Some("/health" | "/ready" | "/openapi.json") => return Need::Open,
        Some("/metrics" | "/status" | "/v1/keys" | "/v1/keys/{name}") => Admin,
        Some("/v1/collections" | "/v1/collections/{name}") if !read => Admin,
        Some("/v1/collections/{name}/documents" | "/v1/collections/{name}/documents/{id}")
            if !read =>
        {
            Ingest
        }
        // The state of writes: for those who may write.
        Some("/v1/jobs/{id}") => Ingest,
        _ => Query,
    };
    Need::Key(scope)
}

/// The collection a request's path names (`/v1/collections/{name}/...`).
pub fn collection_of<'a>(route: Option<&str>, path: &'a str) -> Option<&'a str> {
    route?.strip_prefix("/v1/collections/{name}")?;
    let rest = path.strip_prefix("/v1/collections/")?;
    // Up to the next '/', an ASCII byte: a character boundary.
    let end = rest.bytes().position(|b| b == b'/').unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Whether `caller` may do what `need` asks on `collection`.
pub fn allowed(caller: &Caller, need: KeyScope, collection: Option<&str>) -> bool {
    if caller.scope < need {
        return false;
    }
    match collection {
        Some(c) => caller.sees(c),
        // Listing collections is filtered by the handler; other routes
        // naming no collection need an unrestricted key.
        None => caller.collections.is_none() || need == KeyScope::Query,
    }
}

/// The route template a request matched.
fn route_of(req: &Request) -> Option<&str> {
    req.extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
}

/// The middleware: no-op with `[auth] enabled = false`.
pub async fn authenticate(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    if !app.auth.enabled() {
        return next.run(req).await;
    }
    let scope = match need(req.method(), route_of(&req)) {
        Need::Open => return next.run(req).await,
        Need::Key(scope) => scope,
    };
    // A cheap clone (a shared buffer): the request's body is not `Sync`, so
    // no borrow of the request may live across the lookup below.
    let header = req.headers().get(header::AUTHORIZATION).cloned();
    let caller = match app
        .auth
        .verify(header.as_ref().and_then(|v| v.to_str().ok()))
        .await
    {
        Ok(c) => c,
        Err(Denied::Unavailable(e)) => return ApiError::from(e).into_response(),
        Err(Denied::Missing) => {
            return ApiError::Unauthenticated(
                "this route needs an API key: send Authorization: Bearer KEY",
            )
            .into_response();
        }
        Err(Denied::Invalid) => {
            return ApiError::Unauthenticated(
                "the API key is not valid (unknown, revoked or expired)",
            )
            .into_response();
        }
    };
    let collection = collection_of(route_of(&req), req.uri().path());
    if !allowed(&caller, scope, collection) {
        return ApiError::Forbidden(format!(
            "key {:?} ({} scope) may not do this; it needs {scope} scope{}",
            caller.name,
            caller.scope,
            if collection.is_some() || caller.collections.is_some() {
                " and access to the collection"
            } else {
                ""
            }
        ))
        .into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(scope: KeyScope, collections: Option<&[&str]>) -> Caller {
        Caller {
            name: "k".into(),
            scope,
            collections: collections.map(|c| c.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn the_route_table() {
        use KeyScope::*;
        let n = |m: Method, r: &str| need(&m, Some(r));
        assert_eq!(n(Method::GET, "/health"), Need::Open);
        assert_eq!(n(Method::GET, "/ready"), Need::Open);
        assert_eq!(n(Method::GET, "/metrics"), Need::Key(Admin));
        assert_eq!(n(Method::GET, "/status"), Need::Key(Admin));
        assert_eq!(n(Method::GET, "/v1/keys"), Need::Key(Admin));
        assert_eq!(n(Method::DELETE, "/v1/keys/{name}"), Need::Key(Admin));
        assert_eq!(n(Method::GET, "/v1/collections"), Need::Key(Query));
        assert_eq!(n(Method::POST, "/v1/collections"), Need::Key(Admin));
        assert_eq!(
            n(Method::DELETE, "/v1/collections/{name}"),
            Need::Key(Admin)
        );
        let docs = "/v1/collections/{name}/documents";
        assert_eq!(n(Method::GET, docs), Need::Key(Query));
        assert_eq!(n(Method::POST, docs), Need::Key(Ingest));
        let doc = "/v1/collections/{name}/documents/{id}";
        assert_eq!(n(Method::DELETE, doc), Need::Key(Ingest));
        assert_eq!(
            n(Method::POST, "/v1/collections/{name}/query"),
            Need::Key(Query)
        );
        assert_eq!(need(&Method::GET, None), Need::Key(Query));
    }

    #[test]
    fn collections_come_from_the_path() {
        let r = Some("/v1/collections/{name}/query");
        assert_eq!(collection_of(r, "/v1/collections/kb/query"), Some("kb"));
        let one = Some("/v1/collections/{name}");
        assert_eq!(collection_of(one, "/v1/collections/kb"), Some("kb"));
        assert_eq!(collection_of(one, "/v1/collections/ké/"), Some("ké"));
        assert_eq!(
            collection_of(Some("/v1/collections"), "/v1/collections"),
            None
        );
        assert_eq!(collection_of(None, "/v1/collections/kb"), None);
    }

    #[test]
    fn scopes_include_the_smaller_ones_and_collections_limit_them() {
        use KeyScope::*;
        let admin = caller(Admin, None);
        assert!(allowed(&admin, Query, Some("x")) && allowed(&admin, Admin, None));
        let q = caller(Query, Some(&["a"]));
        assert!(allowed(&q, Query, Some("a")));
        assert!(!allowed(&q, Query, Some("b")));
        assert!(!allowed(&q, Ingest, Some("a")));
        assert!(allowed(&q, Query, None), "a filtered list");
        let limited_admin = caller(Admin, Some(&["a"]));
        assert!(allowed(&limited_admin, Admin, Some("a")));
        assert!(
            !allowed(&limited_admin, Admin, None),
            "no keys, no new collections"
        );
    }
}
