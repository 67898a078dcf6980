//! Where `atdm generate` writes: a local directory, or an object store (`s3://bucket/prefix`,
//! the same stores the audit trail uses).
//!
//! A directory gets each file under a temporary name, renamed when complete. An object store
//! gets each file as a multipart upload, streamed in parts while it is encoded (a few parts in
//! flight at once, so memory stays bounded), and the object appears only when the upload
//! completes; a failed file's upload is aborted. The manifest is written last in both.
//!
//! The object store is driven by a runtime of its own, on threads of its own, so the
//! synchronous writer can be called from any thread, inside another runtime or not.

use std::future::Future;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::error::Error;
use crate::store::Store;

/// Where generated files go.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A local directory, created when missing.
    Dir(PathBuf),
    /// An object store (see [`Store::from_url`]); the files are objects under its prefix.
    Store(Store),
}

impl Destination {
    /// A directory path, `file:///abs/dir`, or `s3://bucket/prefix` (endpoint, region and
    /// credentials from the usual `AWS_*` variables).
    pub fn parse(target: &str) -> Result<Destination, Error> {
        let t = target.trim();
        if let Some(path) = t.strip_prefix("file://") {
            return Ok(Destination::Dir(PathBuf::from(path)));
        }
        if t.starts_with("memory://") {
            return Err(Error::InvalidUrl {
                url: target.to_owned(),
                message: "a memory:// store keeps nothing after the process ends; write to a directory or to s3://bucket/prefix".into(),
            });
        }
        if t.starts_with("s3://") || t.starts_with("s3a://") {
            return Ok(Destination::Store(Store::from_url(t)?));
        }
        if t.contains("://") {
            return Err(Error::InvalidUrl {
                url: target.to_owned(),
                message: "files go to a directory (a path or file:///abs/dir) or to an object store (s3://bucket/prefix)".into(),
            });
        }
        Ok(Destination::Dir(PathBuf::from(t)))
    }

    /// The destination as a person reads it: the directory, or the store's URL.
    pub fn display(&self) -> String {
        match self {
            Destination::Dir(d) => d.display().to_string(),
            Destination::Store(s) => s.url().trim_end_matches('/').to_owned(),
        }
    }

    /// Where the file `name` is, for messages and reports.
    pub fn locate(&self, name: &str) -> PathBuf {
        match self {
            Destination::Dir(d) => d.join(name),
            Destination::Store(_) => PathBuf::from(format!("{}/{name}", self.display())),
        }
    }
}

/// How big each uploaded part is (S3 wants at least 5 MiB but for the last).
pub(crate) const PART_BYTES: usize = 8 << 20;
/// Parts in flight per file while the next is filled.
const PARTS_IN_FLIGHT: usize = 2;

/// An object store and the runtime that drives its requests.
pub(crate) struct Remote {
    store: Arc<dyn ObjectStore>,
    url: String,
    runtime: Option<tokio::runtime::Runtime>,
    part_bytes: usize,
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is refused inside another runtime.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Remote {
    pub(crate) fn new(store: &Store, part_bytes: usize) -> Result<Remote, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("atdm-upload")
            .enable_all()
            .build()
            .map_err(|e| Error::Write {
                path: PathBuf::from(store.url()),
                message: format!("cannot start the upload threads: {e}"),
            })?;
        Ok(Remote {
            store: store.inner.clone(),
            url: store.url().trim_end_matches('/').to_owned(),
            runtime: Some(runtime),
            part_bytes,
        })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.as_ref().expect("taken only on drop").handle()
    }

    /// Runs `f` to completion on the store's runtime, from any thread.
    fn block<F>(&self, f: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        block(self.handle(), f)
    }

    fn failed(&self, name: &str, e: impl std::fmt::Display) -> Error {
        Error::Write {
            path: PathBuf::from(format!("{}/{name}", self.url)),
            message: e.to_string(),
        }
    }

    /// The names of `names` that exist in the store.
    pub(crate) fn existing(&self, names: &[String]) -> Result<Vec<PathBuf>, Error> {
        let mut out = Vec::new();
        for name in names {
            match self.block(self.store.head(&ObjectPath::from(name.as_str()))) {
                Ok(_) => out.push(PathBuf::from(name)),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    return Err(self.failed(
                        name,
                        format!("cannot check whether it exists, so nothing was written: {e}"),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Writes a whole small object (the manifest).
    pub(crate) fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), Error> {
        self.block(
            self.store
                .put(&ObjectPath::from(name), PutPayload::from(bytes)),
        )
        .map(|_| ())
        .map_err(|e| self.failed(name, e))
    }

    /// Starts an object, uploaded in parts as it is written.
    pub(crate) fn writer(self: &Arc<Self>, name: &str) -> Upload {
        Upload {
            remote: self.clone(),
            name: name.to_owned(),
            upload: None,
            pending: Vec::new(),
        }
    }
}

/// Runs `f` on `handle`'s runtime; on a thread of its own when this one is inside a runtime
/// (where blocking on another is refused).
fn block<F>(handle: &tokio::runtime::Handle, f: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| {
            s.spawn(|| handle.block_on(f))
                .join()
                .expect("a store request does not panic")
        })
    } else {
        handle.block_on(f)
    }
}

/// One object being written: bytes are held until a part is full, then uploaded while the
/// next fills. Nothing is visible in the store until [`Upload::finish`].
pub(crate) struct Upload {
    remote: Arc<Remote>,
    name: String,
    /// Started on the first full part, so small headers need no request.
    upload: Option<WriteMultipart>,
    pending: Vec<u8>,
}

impl Upload {
    fn io(e: impl std::fmt::Display) -> io::Error {
        io::Error::other(e.to_string())
    }

    fn start(&mut self) -> io::Result<&mut WriteMultipart> {
        if self.upload.is_none() {
            let path = ObjectPath::from(self.name.as_str());
            let upload = self
                .remote
                .block(self.remote.store.put_multipart(&path))
                .map_err(Self::io)?;
            self.upload = Some(WriteMultipart::new_with_chunk_size(
                upload,
                self.remote.part_bytes,
            ));
        }
        Ok(self.upload.as_mut().expect("just started"))
    }

    /// Hands the pending bytes to the upload, waiting while too many parts are in flight.
    fn ship(&mut self) -> io::Result<()> {
        let remote = self.remote.clone();
        let bytes = std::mem::take(&mut self.pending);
        let upload = self.start()?;
        remote
            .block(upload.wait_for_capacity(PARTS_IN_FLIGHT))
            .map_err(Self::io)?;
        // `put` starts the part's request on the store's runtime.
        let _entered = remote.handle().enter();
        upload.put(bytes.into());
        Ok(())
    }

    /// Completes the object; it is visible from now on.
    pub(crate) fn finish(mut self) -> Result<(), Error> {
        let remote = self.remote.clone();
        let name = self.name.clone();
        if self.upload.is_none() {
            // Smaller than a part: one request.
            let bytes = std::mem::take(&mut self.pending);
            return remote.put(&name, bytes);
        }
        if !self.pending.is_empty() {
            self.ship().map_err(|e| remote.failed(&name, e))?;
        }
        let upload = self.upload.take().expect("started");
        remote
            .block(upload.finish())
            .map(|_| ())
            .map_err(|e| remote.failed(&name, e))
    }
}

impl Drop for Upload {
    /// An upload dropped before [`Upload::finish`] is aborted: the parts uploaded so far are
    /// discarded and no object appears.
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take() {
            let _ = self.remote.block(upload.abort());
        }
    }
}

impl Write for Upload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= self.remote.part_bytes {
            self.ship()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_a_directory_or_a_store_url() {
        assert!(matches!(
            Destination::parse("out/data").unwrap(),
            Destination::Dir(d) if d == std::path::Path::new("out/data")
        ));
        assert!(matches!(
            Destination::parse("file:///tmp/x").unwrap(),
            Destination::Dir(d) if d == std::path::Path::new("/tmp/x")
        ));
        let e = Destination::parse("memory://").unwrap_err();
        assert!(e.to_string().contains("keeps nothing"), "{e}");
        let e = Destination::parse("ftp://host/x").unwrap_err();
        assert!(e.to_string().contains("s3://bucket/prefix"), "{e}");
        let e = Destination::parse("s3:///nobucket").unwrap_err();
        assert!(e.to_string().contains("name the bucket"), "{e}");
    }
}
