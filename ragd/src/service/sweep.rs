//! The orphan sweep: removes from the vector store the vectors of document
//! versions the metadata store does not reference.
//!
//! An ingest records its new version as pending before it writes vectors
//! ([`crate::meta::MetaStore::note_pending`]); swapping the document row in
//! clears it and records the replaced version instead, and removing the
//! replaced version's vectors clears that. A crash, a failed write or a
//! lost vector delete leaves versions recorded, and this sweep removes
//! their vectors:
//! - at start-up, every recorded version on a single node (no other process
//!   writes), those older than `[storage] orphan_grace_secs` with shared
//!   stores (another replica may be mid-ingest);
//! - then every [`SWEEP_EVERY`], those older than the grace.
//!
//! The sweep claims a version before removing its vectors, and a claimed
//! version can no longer be swapped in (its ingest fails with
//! [`crate::meta::MetaError::Swept`]), so the sweep never removes the
//! vectors of a version the metadata references.

use std::sync::Weak;
use std::time::Duration;

use crate::app::Backends;
use crate::error::ApiError;
use crate::vectors::VectorError;

/// How often the background sweep looks for old pending versions.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Pending versions read per round.
const BATCH: u32 = 256;

/// Remove the vectors of every pending version recorded at least `age`
/// ago. Returns how many versions it swept.
pub async fn sweep(b: &Backends, age: Duration) -> Result<u64, ApiError> {
    let mut swept = 0;
    loop {
        let pending = b.meta.pending_versions(age, BATCH).await?;
        let last_round = pending.len() < BATCH as usize;
        for p in pending {
            // Single node: an ingest of this document holds this lock from
            // before its vectors are written until its row is swapped in.
            let _guard = b
                .doc_locks
                .lock(p.key, std::iter::once(p.doc_id.as_str()))
                .await;
            if !b.meta.claim_pending(&p).await? {
                continue; // swapped in or cleared meanwhile
            }
            // A claimed version is never referenced: it was replaced,
            // deleted, or its ingest will fail to swap it in.
            if b.meta.document_version(p.key, &p.doc_id).await? != Some(p.version) {
                match b.vectors.delete_version(p.key, &p.doc_id, p.version).await {
                    // The collection is gone, and its vectors with it.
                    Ok(()) | Err(VectorError::NoSuchCollection(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            b.meta.clear_pending(p.key, &p.doc_id, p.version).await?;
            swept += 1;
        }
        if last_round {
            return Ok(swept);
        }
    }
}

/// Sweep versions older than `grace` every [`SWEEP_EVERY`] until the
/// backends are dropped.
pub async fn run(backends: Weak<Backends>, grace: Duration) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        let Some(b) = backends.upgrade() else { return };
        match sweep(&b, grace).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(versions = n, "orphan sweep removed unreferenced vectors"),
            Err(e) => {
                tracing::warn!(error = %e, "orphan sweep failed; retrying in {}s", SWEEP_EVERY.as_secs())
            }
        }
    }
}
