//! BM25 sparse vectors for keyword retrieval, computed in-process by the
//! Qdrant BM25 model (tokenizer, English stopwords and stemmer). Term
//! frequencies are stored per chunk; the vector store applies IDF at query
//! time, so documents ingested later never need re-weighting.

use qdrant_edge::bm25_embed::{EdgeBm25, EdgeBm25Config};
use qdrant_edge::external::ordered_float::NotNan;

use crate::vectors::Sparse;

/// Why the BM25 model could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Bm25Error {
    #[error("BM25 average length must be a number")]
    AvgLen,
    #[error("BM25 model: {0}")]
    Model(#[from] qdrant_edge::bm25_embed::EdgeBm25Error),
}

pub struct Bm25 {
    model: EdgeBm25,
}

impl Bm25 {
    /// `avg_len`: expected chunk length in tokens (BM25 length normalisation).
    pub fn new(avg_len: f64) -> Result<Bm25, Bm25Error> {
        let config = EdgeBm25Config {
            avg_len: NotNan::new(avg_len).map_err(|_| Bm25Error::AvgLen)?,
            ..Default::default()
        };
        let model = EdgeBm25::new(config)?;
        Ok(Bm25 { model })
    }

    pub fn document(&self, text: &str) -> Sparse {
        let v = self.model.embed_document(text);
        Sparse {
            indices: v.indices,
            values: v.values,
        }
    }

    pub fn query(&self, text: &str) -> Sparse {
        let v = self.model.embed_query(text);
        Sparse {
            indices: v.indices,
            values: v.values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_drop_and_stems_match() {
        let bm25 = Bm25::new(80.0).unwrap();
        let doc = bm25.document("The engineers were running the migrations");
        let query = bm25.query("run migration");
        assert!(!doc.is_empty());
        assert_eq!(query.indices.len(), 2);
        for i in &query.indices {
            assert!(
                doc.indices.contains(i),
                "stemmed query term {i} missing from document"
            );
        }
        assert!(bm25.query("the and of").is_empty());
    }
}
