//! Sending one batch, with retries, so that every file ends as exactly one
//! [`Record`] (ingested or failed with its reason) on the run's channel.
//!
//! - 201: every file of the batch is ingested.
//! - 429 or 503: wait `Retry-After` seconds (1 without it) and send again,
//!   at most [`MAX_BUSY_RETRIES`] times.
//! - Another 4xx: one file may be the cause (415 unsupported format, 422
//!   corrupt file, 413 too large...), so the files are sent again one by
//!   one and each failure is the answer to its own file. Not for 401, 403
//!   and 404: those say the same of every file, which then fails with it.
//! - No answer (connection refused, reset, timeout): tried
//!   [`MAX_CONNECT_TRIES`] times, then every file fails with the reason.
//! - Any other answer (500...): every file fails with ragd's message.
//!
//! Re-sending is safe: ingesting an id again replaces that document.

use std::time::Duration;

use bytes::Bytes;
use ragd_api::IngestResponse;
use reqwest::StatusCode;
use tokio::sync::mpsc::UnboundedSender;

use super::api::{Api, Upload, error_of};
use super::summary::Failure;
use super::walk::{FileEntry, io_reason};
use crate::ragd;

/// Retries of a batch that ragd answers with 429 or 503.
pub const MAX_BUSY_RETRIES: u32 = 5;
/// Tries of a batch that ragd does not answer.
pub const MAX_CONNECT_TRIES: u32 = 3;
/// Wait before a retry when a 429 or 503 has no usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Longest `Retry-After` honoured (a larger one is cut to this).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// One outcome of the send, for the summary and the progress bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// `files` files were ingested by one upload.
    Ingested {
        files: usize,
        /// Documents ragd stored for them (CSV and JSON Lines files make
        /// one per row).
        documents: usize,
        chunks: u64,
    },
    /// One file failed.
    Failed(Failure),
}

/// What one upload came to, after retries.
enum Outcome {
    Ingested(IngestResponse),
    /// A 4xx other than 429: possibly one file's fault.
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// Every file of the upload fails with this.
    Failed {
        status: Option<u16>,
        code: String,
        message: String,
    },
}

/// Sends batches to one collection; clones share the channel.
#[derive(Debug, Clone)]
pub struct Sender {
    api: Api,
    tx: UnboundedSender<Record>,
}

impl Sender {
    pub fn new(api: Api, tx: UnboundedSender<Record>) -> Sender {
        Sender { api, tx }
    }

    fn emit(&self, r: Record) {
        // the receiver lives until every sender is dropped
        let _ = self.tx.send(r);
    }

    fn fail(&self, id: &str, status: Option<u16>, code: &str, message: &str) {
        self.emit(Record::Failed(Failure {
            path: id.to_string(),
            status,
            code: code.to_string(),
            message: message.to_string(),
        }));
    }

    fn ingested(&self, files: usize, r: &IngestResponse) {
        self.emit(Record::Ingested {
            files,
            documents: r.documents.len(),
            chunks: u64::from(r.chunks),
        });
    }

    /// Read, upload and record one batch.
    pub async fn send_batch(&self, batch: Vec<FileEntry>) {
        let mut uploads = Vec::with_capacity(batch.len());
        for f in batch {
            match tokio::fs::read(&f.path).await {
                Ok(b) => uploads.push(Upload {
                    id: f.id,
                    bytes: Bytes::from(b),
                }),
                Err(e) => self.fail(&f.id, None, "read", &io_reason(&e)),
            }
        }
        if uploads.is_empty() {
            return;
        }
        match self.upload(&uploads).await {
            Outcome::Ingested(r) => self.ingested(uploads.len(), &r),
            Outcome::Refused { status, .. } if uploads.len() > 1 && file_specific(status) => {
                for u in &uploads {
                    match self.upload(std::slice::from_ref(u)).await {
                        Outcome::Ingested(r) => self.ingested(1, &r),
                        Outcome::Refused {
                            status,
                            code,
                            message,
                        } => self.fail(&u.id, Some(status), &code, &message),
                        Outcome::Failed {
                            status,
                            code,
                            message,
                        } => self.fail(&u.id, status, &code, &message),
                    }
                }
            }
            Outcome::Refused {
                status,
                code,
                message,
            } => {
                for u in &uploads {
                    self.fail(&u.id, Some(status), &code, &message);
                }
            }
            Outcome::Failed {
                status,
                code,
                message,
            } => {
                for u in &uploads {
                    self.fail(&u.id, status, &code, &message);
                }
            }
        }
    }

    /// One upload with its retries (see the module doc).
    async fn upload(&self, files: &[Upload]) -> Outcome {
        let mut busy = 0;
        let mut unanswered = 0;
        loop {
            let r = match self.api.upload(files).await {
                Ok(r) => r,
                Err(e) => {
                    unanswered += 1;
                    if unanswered >= MAX_CONNECT_TRIES {
                        return Outcome::Failed {
                            status: None,
                            code: "unreachable".into(),
                            message: format!(
                                "no answer from {} after {unanswered} tries: {}",
                                self.api.base(),
                                ragd::short(&e)
                            ),
                        };
                    }
                    tokio::time::sleep(Duration::from_millis(500) * unanswered).await;
                    continue;
                }
            };
            let status = r.status();
            if status.is_success() {
                return match r.json::<IngestResponse>().await {
                    Ok(body) => Outcome::Ingested(body),
                    Err(e) => Outcome::Failed {
                        status: Some(status.as_u16()),
                        code: "bad_response".into(),
                        message: format!("ragd's answer is not an ingest response: {e}"),
                    },
                };
            }
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
            {
                let wait = retry_after(r.headers());
                if busy >= MAX_BUSY_RETRIES {
                    let (code, message) = error_of(r).await;
                    return Outcome::Failed {
                        status: Some(status.as_u16()),
                        code,
                        message: format!("{message} (still after {busy} retries)"),
                    };
                }
                busy += 1;
                tokio::time::sleep(wait).await;
                continue;
            }
            let (code, message) = error_of(r).await;
            return if status.is_client_error() {
                Outcome::Refused {
                    status: status.as_u16(),
                    code,
                    message,
                }
            } else {
                Outcome::Failed {
                    status: Some(status.as_u16()),
                    code,
                    message,
                }
            };
        }
    }
}

/// Whether a 4xx may be the fault of one file of the upload (and so worth
/// sending the files one by one): not for authentication, permission or a
/// missing collection, which hold for every file alike.
fn file_specific(status: u16) -> bool {
    !matches!(status, 401 | 403 | 404)
}

/// `Retry-After` in seconds, [`DEFAULT_RETRY_AFTER`] when absent or not a
/// number of seconds; between 0.1 s and [`MAX_RETRY_AFTER`].
pub fn retry_after(h: &reqwest::header::HeaderMap) -> Duration {
    h.get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs)
        .clamp(Duration::from_millis(100), MAX_RETRY_AFTER)
}
