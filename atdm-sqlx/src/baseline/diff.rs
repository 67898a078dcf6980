//! Comparing two baselines table by table, by primary key.

use std::collections::HashMap;

use super::codec::{row_digest, specs};
use super::objects::read_batch;
use super::{BaselineDiff, BaselineManifest, BaselineTable, DIFF_KEY_LIMIT, TableDiff};
use crate::Engine;
use crate::engine::key_columns;
use crate::error::Error;

impl Engine {
    /// How two baselines differ, table by table: rows added, removed and changed, by primary
    /// key (tables without one: by whole row). Both must be of this engine's schema.
    pub async fn diff_baselines(&self, from: &str, to: &str) -> Result<BaselineDiff, Error> {
        let a = self.require_manifest(from).await?;
        let b = self.require_manifest(to).await?;
        self.check_compatible(&a)?;
        self.check_compatible(&b)?;
        let forms = self.db().value_forms();
        let mut tables = Vec::new();
        for part in self.baseline_parts()? {
            let cols = specs(&part.table, forms);
            let (ea, eb) = (a.table(&part.name), b.table(&part.name));
            if let (Some(x), Some(y)) = (ea, eb)
                && x.checksum == y.checksum
                && x.rows == y.rows
            {
                tables.push(TableDiff {
                    table: part.name.clone(),
                    added: 0,
                    removed: 0,
                    changed: 0,
                    added_keys: Vec::new(),
                    removed_keys: Vec::new(),
                    changed_keys: Vec::new(),
                    truncated: false,
                });
                continue;
            }
            let keyed = !part.table.primary_key.is_empty();
            let key_cols: Vec<usize> = key_columns(&part.table)
                .iter()
                .filter_map(|k| cols.iter().position(|c| &c.name == k))
                .collect();
            let index = |m: &BaselineManifest, e: Option<&BaselineTable>| {
                let (m, cols, key_cols) = (m.clone(), cols.clone(), key_cols.clone());
                let e = e.cloned();
                async move {
                    let mut out: HashMap<String, (serde_json::Value, [u8; 32], u64)> =
                        HashMap::new();
                    let Some(e) = e else {
                        return Ok::<_, Error>(out);
                    };
                    let batches = self.load_part(&m, &e, &cols).await?;
                    let mut scratch = Vec::new();
                    for batch in &batches {
                        let rows =
                            read_batch(batch, &cols).map_err(|message| Error::BaselineCorrupt {
                                id: m.id.clone(),
                                object: e.object.clone(),
                                message,
                            })?;
                        for row in rows {
                            let digest = row_digest(&row, &mut scratch);
                            let key: serde_json::Map<String, serde_json::Value> = key_cols
                                .iter()
                                .map(|&i| (cols[i].name.clone(), row[i].to_json()))
                                .collect();
                            let key = serde_json::Value::Object(key);
                            let entry = out.entry(key.to_string()).or_insert((key, digest, 0));
                            entry.2 += 1;
                        }
                    }
                    Ok(out)
                }
            };
            let before = index(&a, ea).await?;
            let after = index(&b, eb).await?;
            let mut diff = TableDiff {
                table: part.name.clone(),
                added: 0,
                removed: 0,
                changed: 0,
                added_keys: Vec::new(),
                removed_keys: Vec::new(),
                changed_keys: Vec::new(),
                truncated: false,
            };
            let mut added: Vec<(&String, &serde_json::Value)> = Vec::new();
            let mut removed: Vec<(&String, &serde_json::Value)> = Vec::new();
            let mut changed: Vec<(&String, &serde_json::Value)> = Vec::new();
            for (k, (key, digest, n)) in &after {
                match before.get(k) {
                    None => {
                        diff.added += n;
                        added.push((k, key));
                    }
                    Some((_, old, m)) => {
                        if keyed && old != digest {
                            diff.changed += 1;
                            changed.push((k, key));
                        } else if n > m {
                            diff.added += n - m;
                            added.push((k, key));
                        } else if m > n {
                            diff.removed += m - n;
                            removed.push((k, key));
                        }
                    }
                }
            }
            for (k, (key, _, m)) in &before {
                if !after.contains_key(k) {
                    diff.removed += m;
                    removed.push((k, key));
                }
            }
            for (list, out) in [
                (added, &mut diff.added_keys),
                (removed, &mut diff.removed_keys),
                (changed, &mut diff.changed_keys),
            ] {
                let mut list = list;
                list.sort_by(|x, y| x.0.cmp(y.0));
                if list.len() > DIFF_KEY_LIMIT {
                    diff.truncated = true;
                }
                out.extend(
                    list.into_iter()
                        .take(DIFF_KEY_LIMIT)
                        .map(|(_, v)| v.clone()),
                );
            }
            tables.push(diff);
        }
        Ok(BaselineDiff {
            from: a.id,
            to: b.id,
            tables,
        })
    }
}
