//! The transform a detection suggests: one that fits the column's type and constraints.

use super::{PiiKind, Ty};
use crate::Value;
use crate::mask::{FakeKind, Generalization, Transform};
use crate::schema::{Column, ColumnType, Table};

/// The transform for a non-safe column of `kind`, one that fits the column's type (text
/// transforms on text and varchar columns only, pseudonymization not on dates, JSON or
/// bytes, noise on numbers of a table with a primary key), before the key and NULL promises
/// are enforced.
pub(super) fn suggest(
    kind: Option<PiiKind>,
    table: &Table,
    column: &Column,
    ty: Ty,
    keyed: bool,
    fits: bool,
) -> Transform {
    use PiiKind::*;
    let Some(kind) = kind else {
        return Transform::Keep;
    };
    let fake = |k: FakeKind| {
        if keyed {
            Transform::Pseudonymize
        } else {
            Transform::Fake { kind: k }
        }
    };
    let blank = || {
        if keyed {
            key_transform(ty)
        } else if column.nullable {
            Transform::Null
        } else {
            Transform::Constant {
                value: placeholder(&column.ty),
            }
        }
    };
    let native = matches!(column.ty, ColumnType::Native { .. });
    if native || matches!(ty, Ty::Json | Ty::Bytes) {
        // Only keep, null, constant and (on database-native types) pseudonymize fit.
        return match kind {
            Secret | FreeText => blank(),
            _ if native => Transform::Pseudonymize,
            _ => blank(),
        };
    }
    let text = ty == Ty::Text;
    let number = matches!(ty, Ty::Int | Ty::Numeric);
    match kind {
        Email if text && fits && keyed => Transform::Email,
        Email => fake(FakeKind::Email),
        Phone if text && fits => Transform::Phone { keep_digits: 0 },
        Phone if text => fake(FakeKind::Phone),
        NationalId if text => Transform::NationalId,
        CardNumber if text && fits => Transform::Card {
            keep_digits: 6,
            luhn: true,
        },
        Iban if text && fits => Transform::Iban,
        CardNumber | Iban if text => Transform::NationalId,
        Phone | NationalId | CardNumber | Iban | IpAddress | Username => Transform::Pseudonymize,
        FirstName => fake(FakeKind::FirstName),
        LastName => fake(FakeKind::LastName),
        FullName => fake(FakeKind::FullName),
        Street => fake(FakeKind::Street),
        City => fake(FakeKind::City),
        Company => fake(FakeKind::Company),
        _ if keyed => key_transform(ty),
        Zip if number => Transform::Generalize {
            to: Generalization::Band(100),
        },
        Zip => Transform::Generalize {
            to: Generalization::Prefix(3),
        },
        BirthDate if ty == Ty::Temporal => Transform::Generalize {
            to: Generalization::Year,
        },
        BirthDate if number => Transform::Generalize {
            to: Generalization::Band(10),
        },
        // A birth date kept as text: its digits pseudonymized, its shape kept.
        BirthDate => Transform::Pseudonymize,
        GeoPosition if ty == Ty::Numeric && !table.primary_key.is_empty() => Transform::Noise {
            bound: Some(0.01),
            percent: None,
        },
        // Without a primary key to key the noise by: whole degrees.
        GeoPosition if ty == Ty::Numeric => Transform::Generalize {
            to: Generalization::Band(1),
        },
        GeoPosition => Transform::Pseudonymize,
        Secret if ty == Ty::Uuid => Transform::Pseudonymize,
        Secret => blank(),
        FreeText if text && !column.nullable => Transform::Fake {
            kind: FakeKind::Sentence,
        },
        FreeText => blank(),
    }
}

/// The bijection for a key or unique column of a type: pseudonymization, or (for dates,
/// JSON and bytes, which no transform maps one-to-one) the value kept, to be reviewed.
pub(super) fn key_transform(ty: Ty) -> Transform {
    match ty {
        Ty::Temporal | Ty::Json | Ty::Bytes | Ty::Bool | Ty::Enum => Transform::Keep,
        _ => Transform::Pseudonymize,
    }
}

/// A constant of the column's type for a masked secret: `masked` (cut to a short varchar's
/// length), or the type's zero.
fn placeholder(ty: &ColumnType) -> Value {
    const MASKED: &str = "masked";
    match ty {
        ColumnType::Varchar(n) => {
            let n = usize::try_from(*n).unwrap_or(usize::MAX).max(1);
            Value::Text(MASKED.chars().take(n).collect())
        }
        ColumnType::Json => Value::Json(serde_json::Value::String(MASKED.into())),
        ColumnType::Bytes => Value::Bytes(MASKED.as_bytes().to_vec()),
        ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. } => Value::Int(0),
        ColumnType::Uuid => Value::Uuid(uuid::Uuid::nil()),
        _ => Value::Text(MASKED.into()),
    }
}
