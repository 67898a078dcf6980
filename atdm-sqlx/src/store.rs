//! Where audit trails (and, later, baselines) are kept: an object store chosen by URL.
//!
//! | URL | store |
//! |---|---|
//! | `file:///abs/path` or a plain path | a local directory (created if missing); the default is `.atdm/store` in the working directory |
//! | `memory://` | in memory, for tests; gone when the process ends |
//! | `s3://bucket/prefix` | S3 or an S3-compatible store; endpoint, region and credentials from the usual `AWS_*` variables (`AWS_ENDPOINT` may be plain `http://` for a local store such as MinIO) |
//!
//! Every object is written once, with put-if-absent: nothing here overwrites or deletes.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;

use crate::error::Error;

/// The store used when no URL is given: a directory in the working directory.
pub const DEFAULT_STORE_URL: &str = ".atdm/store";

/// The environment variable read for the store URL when none is given in code.
pub const ENV_STORE_URL: &str = "ATDM_STORE_URL";

/// An object store and a description of it for messages.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) inner: Arc<dyn ObjectStore>,
    url: String,
}

fn bad(url: &str, message: impl Into<String>) -> Error {
    Error::InvalidUrl {
        url: url.to_owned(),
        message: message.into(),
    }
}

impl Store {
    /// Opens the store a URL names (see the module docs).
    pub fn from_url(url: &str) -> Result<Store, Error> {
        let trimmed = url.trim();
        let inner: Arc<dyn ObjectStore> = if let Some(rest) = trimmed.strip_prefix("memory://") {
            if !rest.trim_matches('/').is_empty() {
                return Err(bad(url, "a memory store has no path; write memory://"));
            }
            Arc::new(InMemory::new())
        } else if trimmed.starts_with("s3://") || trimmed.starts_with("s3a://") {
            let parsed = url::Url::parse(trimmed).map_err(|e| bad(url, e.to_string()))?;
            let bucket = parsed
                .host_str()
                .filter(|b| !b.is_empty())
                .ok_or_else(|| bad(url, "name the bucket: s3://bucket/prefix"))?;
            let s3 = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_allow_http(true)
                .build()
                .map_err(|e| bad(url, format!("{e}; set AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")))?;
            let prefix = parsed.path().trim_matches('/');
            if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, ObjectPath::from(prefix)))
            }
        } else {
            let path = match trimmed.strip_prefix("file://") {
                Some(p) => PathBuf::from(p),
                None if trimmed.contains("://") => {
                    return Err(bad(
                        url,
                        "the store URL must be file://, memory:// or s3:// (or a plain directory path)",
                    ));
                }
                None => PathBuf::from(trimmed),
            };
            if path.exists() && !path.is_dir() {
                return Err(bad(
                    url,
                    format!(
                        "the store for the audit trail and baselines must be a directory, and {} is a file; choose a directory (--store-url, ATDM_STORE_URL)",
                        path.display()
                    ),
                ));
            }
            std::fs::create_dir_all(&path).map_err(|e| {
                bad(
                    url,
                    format!("cannot create the store directory {}: {e}", path.display()),
                )
            })?;
            let abs = path
                .canonicalize()
                .map_err(|e| bad(url, format!("cannot resolve {}: {e}", path.display())))?;
            Arc::new(LocalFileSystem::new_with_prefix(&abs).map_err(|e| bad(url, e.to_string()))?)
        };
        Ok(Store {
            inner,
            url: url.to_owned(),
        })
    }

    /// The URL the store was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_store_or_say_what_is_allowed() {
        assert!(Store::from_url("memory://").is_ok());
        let e = Store::from_url("ftp://host/x").unwrap_err();
        assert!(e.to_string().contains("file://, memory:// or s3://"), "{e}");
        let e = Store::from_url("memory://x").unwrap_err();
        assert_eq!(e.code(), atdm_core::ErrorCode::InvalidUrl);
        let dir = std::env::temp_dir().join(format!("atdm-store-{}", std::process::id()));
        let s = Store::from_url(&format!("file://{}", dir.display())).unwrap();
        assert!(dir.is_dir());
        assert!(s.url().starts_with("file://"));
        // A file where the directory should be: said as it is.
        let file = dir.join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let e = Store::from_url(&file.display().to_string()).unwrap_err();
        assert!(e.to_string().contains("must be a directory"), "{e}");
        assert!(!e.to_string().contains("database"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
