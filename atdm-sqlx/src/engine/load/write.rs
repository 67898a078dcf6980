//! Writing a load's rows: the producer thread's pieces go to the database through its bulk
//! path (`COPY`), or as `INSERT` statements, in one transaction.

use atdm_core::generate::{Dataset, DatasetOptions};

use super::produce::{Data, Piece, Target, produce};
use super::{Load, invalid};
use crate::backend::Tx;
use crate::engine::Engine;
use crate::error::Error;
use crate::generate::Progress;

impl Engine {
    /// Generates and writes every table's rows, in order, through the bulk path.
    pub(super) async fn write_rows(
        &self,
        tx: &mut Tx,
        load: &Load,
        options: &DatasetOptions,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Result<Result<(), Error>, sqlx::Error> {
        let db = self.db();
        let d = db.dialect();
        let schema = self.schema();
        let bulk = db.bulk_load();
        let target = Target {
            dialect: d,
            bulk,
            bound: db.bound_insert(),
            identity_insert: db.identity_insert(),
        };
        // Few pieces in flight: memory stays flat whatever the table's size.
        let (send, mut receive) = tokio::sync::mpsc::channel::<Piece>(2);
        let producer = {
            let pack = self.pack().clone();
            let options = options.clone();
            let rows = load.rows.clone();
            let (threads, batch_rows) = (load.threads, load.batch_rows);
            std::thread::Builder::new()
                .name("atdm-load".into())
                .spawn(move || produce(&pack, &rows, &options, target, threads, batch_rows, &send))
                .map_err(sqlx::Error::Io)?
        };
        let dataset = {
            let pack = self.pack();
            Dataset::new(
                schema,
                &load.rows,
                pack.generators(),
                pack.markers(),
                options,
            )
            .expect("checked before")
        };
        let tables: Vec<(String, u64)> = dataset.tables().map(|(t, n)| (t.to_owned(), n)).collect();
        let mut pending: Option<Piece> = None;
        let mut failure = None;
        for (ti, (name, total)) in tables.iter().enumerate() {
            let t = schema.table(name).expect("a schema table");
            let mut done = 0u64;
            progress(Progress {
                table: name,
                done,
                total: *total,
            });
            let mut take = |piece: Option<Piece>, pending: &mut Option<Piece>| -> Option<Data> {
                match piece {
                    Some(Piece::Chunk { table, data, rows }) if table == ti => {
                        done += rows;
                        progress(Progress {
                            table: name,
                            done,
                            total: *total,
                        });
                        Some(data)
                    }
                    Some(Piece::Failed(m)) => {
                        failure = Some(m);
                        None
                    }
                    other => {
                        *pending = other;
                        None
                    }
                }
            };
            match bulk {
                Some(bulk) => {
                    let arrow = dataset.arrow_schema(name).expect("a dataset table");
                    let cols: Vec<String> =
                        arrow.fields().iter().map(|f| d.quote(f.name())).collect();
                    let statement = (bulk.statement)(&d.quote_table(t), &cols);
                    let (inner_send, inner_receive) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
                    let forward = async {
                        let inner_send = inner_send;
                        loop {
                            let next = match pending.take() {
                                Some(p) => Some(p),
                                None => receive.recv().await,
                            };
                            let bytes = match take(next, &mut pending) {
                                Some(Data::Text(bytes)) => bytes,
                                Some(Data::Bound(..)) => {
                                    unreachable!(
                                        "the producer binds rows only where there is no COPY"
                                    )
                                }
                                None => break,
                            };
                            if inner_send.send(bytes).await.is_err() {
                                break;
                            }
                        }
                    };
                    let (copied, ()) = tokio::join!(tx.copy_in(statement, inner_receive), forward);
                    copied?;
                }
                None => loop {
                    let next = match pending.take() {
                        Some(p) => Some(p),
                        None => receive.recv().await,
                    };
                    match take(next, &mut pending) {
                        Some(Data::Text(bytes)) => {
                            let sql = String::from_utf8(bytes).expect("generated SQL is UTF-8");
                            tx.execute_script(sql).await?;
                        }
                        Some(Data::Bound(sql, args)) => {
                            tx.execute_bound(sql, args).await?;
                        }
                        None => break,
                    }
                },
            }
            if failure.is_some() {
                break;
            }
        }
        drop(receive);
        let _ = producer.join();
        Ok(match failure {
            Some(m) => Err(invalid(m)),
            None => Ok(()),
        })
    }
}
