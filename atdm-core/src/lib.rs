//! # atdm-core: the pure half of ATDM
//!
//! ATDM gives tests realistic synthetic data by intent. A caller names a scenario ("an active
//! member with a denied claim from an out-of-network provider"), may override some of its
//! knobs, and gets rows that are seeded atomically and removed exactly afterwards. This crate
//! holds everything up to the database, as pure functions: no I/O, no clock, no async
//! runtime, no driver. The engine (`atdm-sqlx`) writes what this crate plans.
//!
//! ```text
//! intent -> Scenario -> Pack::plan -> Plan -> Pack::validate -> ValidatedPlan -> (engine) seed
//! ```
//!
//! ## A scenario for your own schema, in five steps
//!
//! **1. Describe the schema** in TOML (or in Rust with [`schema::Table`] builders, or let the
//! engine introspect a live database: `atdm introspect --out DIR` writes the schema file and a
//! first scenario per table for you, see [`scaffold`]). Checks are written the way you would
//! say them:
//!
//! ```
//! # use atdm_core::schema::Schema;
//! let schema = Schema::from_toml(r#"
//! name = "shop"
//!
//! [[tables]]
//! name = "customer"
//! primary_key = ["customer_id"]
//! unique = [["email"]]
//! checks = ["status in ('active', 'blocked')"]
//! columns = [
//!   { name = "customer_id", type = "text" },
//!   { name = "email", type = "text" },
//!   { name = "first_name", type = "text" },
//!   { name = "status", type = "text" },
//! ]
//!
//! [[tables]]
//! name = "orders"
//! primary_key = ["order_id"]
//! checks = ["shipped_on >= placed_on", "state = 'shipped' implies shipped_on is not null"]
//! columns = [
//!   { name = "order_id", type = "text" },
//!   { name = "customer_id", type = "text" },
//!   { name = "state", type = "enum(open, shipped)" },
//!   { name = "placed_on", type = "date" },
//!   { name = "shipped_on", type = "date", nullable = true },
//!   { name = "total", type = "numeric(10,2)" },
//! ]
//! foreign_keys = [{ columns = ["customer_id"], references = "customer" }]
//! "#, "shop.toml")?;
//! # Ok::<(), atdm_core::SchemaError>(())
//! ```
//!
//! **2. Write the scenario**: the rows it seeds, what is fixed, what a caller may turn
//! (knobs, each with its allowed values), and how rows refer to each other (`"@alias"`).
//! Everything you leave open is generated from the column's type, name and checks.
//!
//! ```toml
//! id = "blocked_customer_with_open_order"
//! description = "A blocked customer who still has an open order."
//! tags = ["orders", "blocked"]
//! requirements = ["SHOP-12"]
//!
//! [knobs.order_state]
//! values = ["open", "shipped"]
//! default = "open"
//!
//! [[rows]]
//! alias = "customer"
//! table = "customer"
//! set = { status = "blocked" }
//!
//! [[rows]]
//! alias = "order"
//! table = "orders"
//! count = 2
//! set = { customer_id = "@customer", state = "{order_state}", placed_on = "{today-10d}" }
//! ```
//!
//! **3. Build a pack** from the schema, the scenario files, and any validators or generators
//! of your own (the healthcare pack in [`domains::healthcare`] is built exactly this way):
//!
//! ```
//! # use atdm_core::{Pack, schema::Schema};
//! # let schema = Schema::from_toml(include_str!("../tests/data/shop_schema.toml"), "shop.toml")?;
//! let pack = Pack::builder("shop", schema)
//!     .scenario("blocked.toml", include_str!("../tests/data/blocked_customer_with_open_order.toml"))
//!     .validator("shop.blocked_customers_have_no_new_orders", |ctx: &atdm_core::validate::CheckContext<'_>, report: &mut atdm_core::validate::Report| {
//!         let _ = (ctx, report); // read ctx.rows("orders"), call report.fail(...)
//!     })
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **4. Plan and validate.** A plan is a pure function of the scenario, the constraints and the
//! [`RunContext`] (run id, seed derived from it, reference date, generator version):
//!
//! ```
//! # use atdm_core::{Pack, RunContext, schema::Schema, Value};
//! # let schema = Schema::from_toml(include_str!("../tests/data/shop_schema.toml"), "shop.toml")?;
//! # let pack = Pack::builder("shop", schema).scenario("b.toml", include_str!("../tests/data/blocked_customer_with_open_order.toml")).build()?;
//! let ctx = RunContext::new("01JABCDEFGHJKMNPQRSTVWXYZ0", chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
//! let mut constraints = atdm_core::Constraints::new();
//! constraints.insert("order_state".into(), Value::from("shipped"));
//! let validated = pack.plan_validated("blocked_customer_with_open_order", &constraints, &ctx, &Default::default())?;
//! assert_eq!(validated.plan().rows("orders").count(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A bad constraint is [`Error::InvalidConstraint`] naming the allowed values; a plan that
//! breaks a check, a key or a domain rule is [`Error::Rejected`] with every failure.
//!
//! **5. Seed it** with the engine (`atdm-sqlx`), which only accepts a [`ValidatedPlan`].
//!
//! ## What is where
//!
//! | module | holds |
//! |---|---|
//! | [`schema`] | tables, columns, types, keys, checks; TOML form; DDL for SQLite, PostgreSQL, MySQL |
//! | [`scenario`] | the scenario file format, inheritance, knobs, the catalog and search by intent |
//! | [`plan`] | the planner, run context and seed derivation |
//! | [`generate`] | value generators, the owned random source, marker policies, Arrow bulk generation |
//! | [`validate`] | the validator trait, registry and gate |
//! | [`token`], [`audit`], [`fixtures`] | cleanup tokens, audit events, fixture files |
//! | [`scaffold`] | a scenario directory written from a schema: `every_table` and one scenario per table |
//! | [`domains::healthcare`] | the reference pack |
//!
//! ## Determinism
//!
//! Same scenario, constraints, run id (hence seed), reference date and
//! [`generate::GENERATOR_VERSION`] give a byte-identical [`Plan::to_json`], in any process and
//! on any machine: the core never reads a clock, and all randomness comes from
//! [`generate::CellRng`], keyed by `(seed, table, row, column)`.
//!
//! ## Supported Rust
//!
//! The minimum supported Rust version is 1.94 (that of `sqlx` 0.9).

pub mod audit;
pub mod coverage;
pub mod domains;
pub mod edge;
mod error;
pub mod fixtures;
pub mod generate;
pub mod mask;
mod pack;
pub mod plan;
pub mod scaffold;
pub mod scenario;
pub mod schema;
mod suggest;
pub mod token;
pub mod validate;
mod value;

pub use error::{Error, ErrorCode, ScenarioError, SchemaError};
pub use pack::{
    Constraints, KnobDescription, Pack, PackBuilder, RowDescription, ScenarioDescription,
};
pub use plan::{Cell, CellRef, ExistingRows, Plan, RunContext, StreamedRef, seed_from_run_id};
pub use validate::{Failure, Rejection, ValidatedPlan};
pub use value::Value;
