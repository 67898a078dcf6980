use std::collections::BTreeMap;
use std::sync::Mutex;

use atdm_core::domains::healthcare;

use super::*;

fn tmp() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("atdm-generate-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn at(dir: &std::path::Path) -> Destination {
    Destination::Dir(dir.to_path_buf())
}

fn rows(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

/// The dataset of `pack` with `n` rows, seed 3.
fn dataset_of<'p>(pack: &'p atdm_core::Pack, n: &BTreeMap<String, u64>) -> Dataset<'p> {
    Dataset::new(
        pack.schema(),
        n,
        pack.generators(),
        pack.markers(),
        &dataset_options(pack, 3, date()),
    )
    .unwrap()
}

#[test]
fn files_do_not_depend_on_threads_or_batches_and_parts_cover_the_whole() {
    let pack = healthcare::pack();
    let n = rows(&[("plan", 5), ("member", 60_000), ("provider", 40)]);
    let mut base = GenerateOptions::new(n, 9, date());
    let (top_one, top_many) = (tmp(), tmp());
    for format in [
        FileFormat::Csv,
        FileFormat::Jsonl,
        FileFormat::Parquet,
        FileFormat::Sql(atdm_core::schema::Dialect::Postgres),
    ] {
        let one = top_one.join(format.extension());
        let many = top_many.join(format.extension());
        base.threads = 1;
        base.batch_rows = 1024;
        let a = generate_files(&pack, &base, format, &at(&one), &|_| {}).unwrap();
        let mut other = base.clone();
        other.threads = 4;
        other.batch_rows = 700;
        other.force = true;
        let b = generate_files(&pack, &other, format, &at(&many), &|_| {}).unwrap();
        let sums = |r: &GenerateReport| {
            r.tables
                .iter()
                .map(|t| (t.table.clone(), t.sha256.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(sums(&a), sums(&b), "{format:?}");
        assert_eq!(
            std::fs::read(one.join("manifest.json")).unwrap(),
            std::fs::read(many.join("manifest.json")).unwrap()
        );
        if format == FileFormat::Jsonl {
            // Three parts, concatenated, are the whole file line for line.
            for part in 0..3 {
                let mut p = base.clone();
                p.parts = 3;
                p.part = part;
                let r = generate_files(&pack, &p, format, &at(&many), &|_| {}).unwrap();
                assert_eq!(r.manifest, format!("manifest.part-{part:05}-of-00003.json"));
            }
            for t in &a.tables {
                let whole = std::fs::read_to_string(one.join(&t.file)).unwrap();
                let joined: String = (0..3)
                    .map(|k| {
                        std::fs::read_to_string(many.join(file_name(&t.table, format, 3, k)))
                            .unwrap()
                    })
                    .collect();
                assert_eq!(whole, joined, "{}", t.table);
                assert_eq!(whole.lines().count() as u64, t.rows);
            }
        }
    }
    base.force = false;
    let csv = at(&top_one.join("csv"));
    let e = generate_files(&pack, &base, FileFormat::Csv, &csv, &|_| {}).unwrap_err();
    assert_eq!(e.code().as_str(), "FILES_EXIST", "{e}");
    let _ = std::fs::remove_dir_all(top_one);
    let _ = std::fs::remove_dir_all(top_many);
}

#[test]
fn progress_counts_every_row_and_bad_options_write_nothing() {
    let pack = healthcare::pack();
    let dir = tmp().join("out");
    let seen = Mutex::new(Vec::new());
    let mut o = GenerateOptions::new(rows(&[("plan", 3), ("member", 2500)]), 1, date());
    o.batch_rows = 1000;
    let report = generate_files(
        &pack,
        &o,
        FileFormat::Sql(atdm_core::schema::Dialect::Postgres),
        &at(&dir),
        &|p| {
            seen.lock()
                .unwrap()
                .push((p.table.to_owned(), p.done, p.total))
        },
    )
    .unwrap();
    let seen = seen.into_inner().unwrap();
    assert!(seen.contains(&("member".into(), 1000, 2500)));
    assert!(seen.contains(&("member".into(), 2500, 2500)));
    assert_eq!(report.tables.iter().map(|t| t.rows).sum::<u64>(), 2503);
    let sql = std::fs::read_to_string(dir.join("member.sql")).unwrap();
    assert!(
        sql.starts_with("-- postgres rows of member"),
        "{}",
        &sql[..200]
    );
    assert!(sql.trim_end().ends_with("COMMIT;"));

    for (bad, code) in [
        (
            GenerateOptions {
                parts: 2,
                part: 2,
                ..o.clone()
            },
            "INVALID_DATASET",
        ),
        (
            GenerateOptions {
                rows: rows(&[("membr", 1)]),
                ..o.clone()
            },
            "INVALID_DATASET",
        ),
        (
            GenerateOptions {
                rows: rows(&[("member", 1)]),
                ..o.clone()
            },
            "INVALID_DATASET",
        ),
        (
            GenerateOptions {
                rows: rows(&[("plan", MAX_ROWS_PER_TABLE + 1)]),
                ..o.clone()
            },
            "INVALID_DATASET",
        ),
    ] {
        let fresh = tmp().join("never");
        let e = generate_files(&pack, &bad, FileFormat::Csv, &at(&fresh), &|_| {}).unwrap_err();
        assert_eq!(e.code().as_str(), code, "{e}");
        assert!(e.to_string().contains("nothing was written"), "{e}");
        assert!(!fresh.exists(), "{e}");
        let _ = std::fs::remove_dir_all(fresh.parent().unwrap());
    }
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn an_object_store_gets_the_same_bytes_in_parts() {
    let pack = healthcare::pack();
    let n = rows(&[("plan", 5), ("member", 3000)]);
    let options = GenerateOptions::new(n, 4, date());
    let (local, remote_dir) = (tmp(), tmp());
    // The object store over a local directory: uploads in parts, renamed when complete.
    let store = crate::Store::from_url(&format!("file://{}", remote_dir.display())).unwrap();
    let to = Destination::Store(store.clone());
    // Small parts, so every file of any size is uploaded in several.
    let remote = Arc::new(Remote::new(&store, 16 * 1024).unwrap());
    for format in [FileFormat::Csv, FileFormat::Parquet] {
        let a = generate_files(&pack, &options, format, &at(&local), &|_| {}).unwrap();
        // From inside a runtime, as the CLI calls it.
        let rt = tokio::runtime::Runtime::new().unwrap();
        let b = rt
            .block_on(async { generate_into(&pack, &options, format, &to, Some(&remote), &|_| {}) })
            .unwrap();
        assert_eq!(a.tables, b.tables, "{format:?}");
        let member = a.tables.iter().find(|t| t.table == "member").unwrap();
        assert!(member.bytes > 3 * 16 * 1024, "{}", member.bytes);
        for t in &a.tables {
            assert_eq!(
                std::fs::read(local.join(&t.file)).unwrap(),
                std::fs::read(remote_dir.join(&t.file)).unwrap()
            );
        }
        assert_eq!(
            std::fs::read(local.join("manifest.json")).unwrap(),
            std::fs::read(remote_dir.join("manifest.json")).unwrap()
        );
        // The store's files are found like a directory's.
        let e = generate_into(&pack, &options, format, &to, Some(&remote), &|_| {}).unwrap_err();
        assert_eq!(e.code().as_str(), "FILES_EXIST", "{e}");
        assert!(e.to_string().contains("file://"), "{e}");
        std::fs::remove_file(remote_dir.join("manifest.json")).unwrap();
        std::fs::remove_file(local.join("manifest.json")).unwrap();
    }
    let leftovers: Vec<_> = std::fs::read_dir(&remote_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(leftovers.len(), 4, "no staging files left: {leftovers:?}");
    let _ = std::fs::remove_dir_all(local);
    let _ = std::fs::remove_dir_all(remote_dir);
}

/// The SHA-256 of one dataset's rows as an Arrow IPC stream. The Python tests read it from
/// here (atdm-py/tests/test_generate.py), so both front ends pin the same bytes. It changes
/// only with the generator (see GENERATOR_VERSION).
const PINNED_DATASET: &str = "8ba21bcb653526d0a48ef5451482ec43c73a13f38cdf6e324b2d078fcbb779cb";

/// The same dataset with its valid edge cases (`edge_cases="valid"` in Python).
const PINNED_EDGE_DATASET: &str =
    "be773f32049d062851826a445cf1646b7751ffbe85e89b11ed111194c2285c8f";

#[test]
fn a_dataset_is_pinned_byte_for_byte() {
    use sha2::{Digest, Sha256};
    let pack = healthcare::pack();
    let n = rows(&[
        ("plan", 5),
        ("member", 1000),
        ("provider", 50),
        ("claim", 3000),
    ]);
    let mut o = GenerateOptions::new(n, 7, date());
    o.batch_rows = 256;
    let digest = |o: &GenerateOptions| {
        let mut digest = Sha256::new();
        for table in ["member", "claim"] {
            digest.update(arrow_ipc(&pack, o, table, 0, None).unwrap());
        }
        sinks::hex(&digest.finalize())
    };
    assert_eq!(digest(&o), PINNED_DATASET);
    // With edge cases: the tables end with their edge rows, pinned too.
    let mut edges = o.clone();
    edges.edge_cases = EdgeCases::Valid;
    assert_eq!(digest(&edges), PINNED_EDGE_DATASET);
    let e = arrow_ipc(&pack, &o, "member", 0, Some(1001)).unwrap_err();
    assert_eq!(e.code().as_str(), "INVALID_DATASET", "{e}");
    assert!(arrow_ipc(&pack, &edges, "member", 0, Some(1001)).is_ok());
    let e = arrow_ipc(&pack, &o, "eligibility", 0, Some(1)).unwrap_err();
    assert!(
        e.to_string().contains("not one of the dataset's tables"),
        "{e}"
    );
}

#[test]
fn wide_tables_get_smaller_batches_and_row_groups_and_the_same_files() {
    let mut toml = String::from(
        "name = \"wide\"\n[[tables]]\nname = \"wide\"\nprimary_key = [\"id\"]\ncolumns = [\n  \
         { name = \"id\", type = \"bigint\" },\n",
    );
    for i in 0..40 {
        toml.push_str(&format!(
            "  {{ name = \"note_{i}\", type = \"varchar(200)\" }},\n"
        ));
    }
    toml.push_str("]\n");
    let schema = atdm_core::schema::Schema::from_toml(&toml, "wide.toml").unwrap();
    let wide = atdm_core::Pack::builder("wide", schema).build().unwrap();
    let n = rows(&[("wide", 10_000)]);
    let options = GenerateOptions::new(n.clone(), 3, date());
    let dataset = dataset_of(&wide, &n);
    let sized = sizing(&dataset, "wide", 10_000, options.batch_rows);
    assert!(sized.batch_rows < options.batch_rows, "{sized:?}");
    assert!((sized.row_group_rows as u64) < ROW_GROUP_ROWS, "{sized:?}");
    assert!(sized.row_group_rows < 10_000, "{sized:?}");
    // An ordinary table gets batches of thousands of rows (about a MiB), a smaller batch
    // size it is given, and row groups of tens of thousands of rows.
    let pack = healthcare::pack();
    let n = rows(&[("plan", 5), ("member", 300)]);
    let narrow = dataset_of(&pack, &n);
    let ordinary = sizing(&narrow, "member", 300, 16 * 1024);
    assert!(
        (2048..16 * 1024).contains(&ordinary.batch_rows),
        "{ordinary:?}"
    );
    assert_eq!(sizing(&narrow, "member", 300, 1000).batch_rows, 1000);
    assert!(ordinary.row_group_rows > 32 * 1024, "{ordinary:?}");

    let (a, b) = (tmp(), tmp());
    let mut one = options.clone();
    one.threads = 1;
    let first = generate_files(&wide, &one, FileFormat::Parquet, &at(&a), &|_| {}).unwrap();
    let mut many = options;
    many.threads = 3;
    many.batch_rows = 700;
    let second = generate_files(&wide, &many, FileFormat::Parquet, &at(&b), &|_| {}).unwrap();
    assert_eq!(first.tables[0].sha256, second.tables[0].sha256);
    let file = std::fs::File::open(a.join(&first.tables[0].file)).unwrap();
    let meta = parquet::file::reader::FileReader::metadata(
        &parquet::file::reader::SerializedFileReader::new(file).unwrap(),
    )
    .clone();
    let groups: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
    assert!(groups.len() > 1, "{groups:?}");
    assert!(
        groups.iter().all(|&g| g <= sized.row_group_rows as i64),
        "{groups:?} {sized:?}"
    );
    assert_eq!(groups.iter().sum::<i64>(), 10_000);
    let _ = std::fs::remove_dir_all(a);
    let _ = std::fs::remove_dir_all(b);
}
