//! MySQL/MariaDB: a rental shop with narrow and unsigned integers, ENUM and SET, YEAR, BIT,
//! TIME and spatial columns, a store/staff NOT NULL cycle, and triggers.

use atdm_core::schema::{ColumnType, Generated};

use super::{checks, create, cycles, fks, no_note, note, ty};
use crate::support::{Kind, TestDb};
use crate::{col, column_names, table, table_names};

const DDL: &[&str] = &[
    "CREATE TABLE store (
       store_id TINYINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       manager_staff_id TINYINT UNSIGNED NOT NULL,
       address VARCHAR(50) NOT NULL,
       last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
     ) ENGINE = InnoDB",
    "CREATE TABLE staff (
       staff_id TINYINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       store_id TINYINT UNSIGNED NOT NULL,
       first_name VARCHAR(45) NOT NULL,
       active BOOLEAN NOT NULL DEFAULT TRUE,
       CONSTRAINT fk_staff_store FOREIGN KEY (store_id) REFERENCES store (store_id)
     ) ENGINE = InnoDB",
    "ALTER TABLE store ADD CONSTRAINT fk_store_staff FOREIGN KEY (manager_staff_id) \
       REFERENCES staff (staff_id)",
    "CREATE TABLE address (
       address_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       address VARCHAR(50) NOT NULL,
       location GEOMETRY NOT NULL,
       SPATIAL KEY idx_location (location)
     ) ENGINE = InnoDB",
    "CREATE TABLE film (
       film_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       title VARCHAR(128) NOT NULL,
       release_year YEAR,
       rating ENUM('G', 'PG', 'PG-13', 'R', 'NC-17') DEFAULT 'G',
       special_features SET('Trailers', 'Commentaries', 'Deleted Scenes', 'Behind the Scenes'),
       length SMALLINT UNSIGNED,
       stock MEDIUMINT UNSIGNED NOT NULL,
       score SMALLINT NOT NULL,
       temperature TINYINT NOT NULL,
       rental_rate DECIMAL(4,2) NOT NULL DEFAULT 4.99,
       is_new BIT(1) NOT NULL DEFAULT b'0',
       running_time TIME NULL,
       weight DOUBLE NULL,
       views BIGINT UNSIGNED NOT NULL DEFAULT 0
     ) ENGINE = InnoDB",
    "CREATE TABLE film_text (film_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY, title VARCHAR(255) NOT NULL)",
    "CREATE TABLE kiosk (
       kiosk_id INT NOT NULL PRIMARY KEY,
       manager_staff_id TINYINT UNSIGNED NULL,
       film_id SMALLINT UNSIGNED NULL
     ) ENGINE = InnoDB",
    "CREATE TABLE customer (
       customer_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       store_id TINYINT UNSIGNED NOT NULL,
       create_date DATETIME NOT NULL,
       CONSTRAINT fk_customer_store FOREIGN KEY (store_id) REFERENCES store (store_id)
     ) ENGINE = InnoDB",
    "CREATE TRIGGER customer_create_date BEFORE INSERT ON customer FOR EACH ROW \
       SET NEW.create_date = NOW()",
    "CREATE TRIGGER film_copied AFTER INSERT ON film FOR EACH ROW \
       INSERT INTO film_text (film_id, title) VALUES (NEW.film_id, NEW.title)",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_shapes_of_real_schemas_are_modelled() {
    let Some(db) = TestDb::fresh(Kind::MySql).await else {
        return;
    };
    create(&db, DDL).await;
    let intro = atdm_sqlx::introspect(&db.url, "rental")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = &intro.schema;
    let notes = &intro.notes;
    eprintln!("{}\nnotes: {notes:#?}", s.to_toml());
    assert_eq!(
        table_names(s),
        [
            "address",
            "customer",
            "film",
            "film_text",
            "kiosk",
            "staff",
            "store"
        ]
    );
    assert!(s.tables.iter().all(|t| t.schema.is_none()));

    // Integer widths and signs.
    let film = table(s, "film");
    for (column, expected) in [
        ("film_id", "smallint unsigned"),
        ("length", "smallint unsigned"),
        ("stock", "mediumint unsigned"),
        ("score", "smallint"),
        ("temperature", "tinyint"),
        ("views", "bigint unsigned"),
        ("rental_rate", "numeric(4,2)"),
        ("rating", "enum(G, PG, PG-13, R, NC-17)"),
        (
            "special_features",
            "mysql:set('Trailers','Commentaries','Deleted Scenes','Behind the Scenes')",
        ),
        ("is_new", "mysql:bit(1)"),
        ("running_time", "mysql:time"),
        ("weight", "mysql:double"),
    ] {
        assert_eq!(ty(s, "film", column), expected, "film.{column}");
    }
    assert!(ty(s, "film", "release_year").starts_with("mysql:year"));
    assert_eq!(col(film, "film_id").generated, Some(Generated::Identity));
    assert_eq!(
        col(film, "stock").ty.int_range(),
        Some((0, 16_777_215)),
        "generated values stay in the type's range"
    );
    assert_eq!(col(film, "is_new").default_sql.as_deref(), Some("b'0'"));
    assert_eq!(column_names(film).len(), 14, "no column is left out");
    assert_eq!(ty(s, "store", "store_id"), "tinyint unsigned");
    assert_eq!(col(table(s, "staff"), "active").ty, ColumnType::Boolean);
    let location = col(table(s, "address"), "location");
    assert_eq!(location.ty.to_string(), "mysql:geometry");
    assert!(!location.nullable);
    no_note(notes, "address.location");
    no_note(notes, "column film.");
    assert!(checks(film).is_empty());

    // The NOT NULL cycle is kept whole.
    assert_eq!(
        fks(table(s, "store")),
        ["manager_staff_id -> staff(staff_id)"]
    );
    assert_eq!(fks(table(s, "staff")), ["store_id -> store(store_id)"]);
    assert_eq!(cycles(s), [vec!["staff", "store"]]);
    note(
        notes,
        &[
            "foreign keys form a cycle between staff, store",
            "NOT NULL: staff.store_id, store.manager_staff_id",
        ],
    );

    // Triggers.
    let customer = table(s, "customer");
    assert_eq!(customer.triggers.len(), 1);
    let t = &customer.triggers[0];
    assert_eq!(
        (t.name.as_str(), t.timing.as_str(), t.events.clone()),
        ("customer_create_date", "before", vec!["insert".to_owned()])
    );
    assert_eq!(
        t.effect,
        "may change the row's values before they are stored (sets create_date)"
    );
    assert_eq!(
        film.triggers[0].effect,
        "may write other tables (film_text)"
    );
    note(notes, &["table customer has trigger: customer_create_date"]);
    note(
        notes,
        &["table film has trigger: film_copied (after insert)"],
    );

    // Undeclared references.
    note(
        notes,
        &[
            "column kiosk.manager_staff_id has no foreign key, but its name looks like a reference to staff.staff_id",
        ],
    );
    note(
        notes,
        &[
            "column kiosk.film_id has no foreign key, but its name looks like a reference to film.film_id",
        ],
    );
    note(
        notes,
        &[
            "column film_text.film_id has no foreign key, but its name looks like a reference to film.film_id",
        ],
    );
    no_note(notes, "customer.customer_id");
    db.drop_db().await;
}
