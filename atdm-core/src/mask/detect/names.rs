//! What a column's name (and its table's name) says it holds.
//!
//! Names are split into lower-case words at anything that is not a letter or digit and at
//! camel-case humps (`CardNumber` -> `card number`), the way [`Semantic::infer`] reads them.
//! The rules for the most harmful kinds (secrets, national ids, cards, bank accounts, birth
//! dates) come first; the kinds ATDM also generates (names, emails, phones, addresses, user
//! names, IP addresses, companies, coordinates, free text) come from [`Semantic::infer`].

use super::PiiKind;
use crate::generate::Semantic;

/// Words that say a column is about a kind, not the kind itself (`email_status`,
/// `card_type`, `password_policy`, `phone_ext`): such a name names no kind.
const MODIFIERS: &[&str] = &[
    "type",
    "types",
    "kind",
    "status",
    "state",
    "verified",
    "confirmed",
    "count",
    "flag",
    "enabled",
    "optin",
    "opt",
    "consent",
    "format",
    "valid",
    "validated",
    "bounced",
    "bounce",
    "domain",
    "provider",
    "policy",
    "expires",
    "expiry",
    "expiration",
    "expired",
    "changed",
    "updated",
    "length",
    "len",
    "algorithm",
    "algo",
    "scheme",
    "version",
    "visibility",
    "visible",
    "required",
    "masked",
    "last4",
    "brand",
    "country",
    "ext",
    "extension",
    "attempts",
    "strength",
];

/// Words that make a column a key or a reference (`card_id`, `bank_account_ref`): a card or
/// bank-account name with one of them names no card or account.
const KEY_WORDS: &[&str] = &["id", "uuid", "key", "ref", "fk", "pk"];

/// Tables whose rows are people: their company is an employer, their free text is about them.
const PERSON_TABLES: &[&str] = &[
    "member",
    "person",
    "people",
    "user",
    "customer",
    "patient",
    "employee",
    "contact",
    "author",
    "student",
    "staff",
    "client",
    "driver",
    "teacher",
    "guest",
    "passenger",
    "worker",
    "applicant",
    "candidate",
    "subscriber",
    "profile",
    "beneficiary",
    "policyholder",
    "insured",
    "resident",
    "volunteer",
    "donor",
    "lead",
    "prospect",
    "traveler",
    "traveller",
    "visitor",
    "player",
    "athlete",
    "citizen",
    "voter",
    "doctor",
    "physician",
    "nurse",
    "instructor",
    "recipient",
    "sender",
    "buyer",
    "owner",
    "personnel",
    "account_holder",
    "cardholder",
];

/// Free-text words that [`Semantic::infer`] does not read as sentences.
const MORE_FREE_TEXT: &[&str] = &[
    "message",
    "messages",
    "body",
    "remark",
    "memo",
    "memos",
    "feedback",
    "text",
    "content",
    "biography",
    "annotation",
    "annotations",
    "narrative",
    "instructions",
    "observation",
    "observations",
    "reason",
    "explanation",
    "answer",
];

/// Free-text words for what people write (as opposed to `description`, `summary`,
/// `details`): such a column is personal even when no sampled value holds a detected kind.
const WRITTEN_BY_PEOPLE: &[&str] = &[
    "note",
    "notes",
    "comment",
    "comments",
    "remark",
    "remarks",
    "message",
    "messages",
    "body",
    "bio",
    "biography",
    "memo",
    "memos",
    "feedback",
    "text",
    "content",
    "annotation",
    "annotations",
    "narrative",
    "instructions",
    "observation",
    "observations",
    "reason",
    "explanation",
    "answer",
    "about",
];

pub(super) use crate::generate::{singular, words};

/// Whether a table's rows are people (`customer`, `app_users`, `Employees`, ...).
pub(super) fn is_person_table(table: &str) -> bool {
    let ws: Vec<String> = words(table).iter().map(|w| singular(w)).collect();
    let last_two = match ws.len() {
        0 => String::new(),
        1 => ws[0].clone(),
        n => format!("{}_{}", ws[n - 2], ws[n - 1]),
    };
    ws.last()
        .is_some_and(|w| PERSON_TABLES.contains(&w.as_str()))
        || PERSON_TABLES.contains(&last_two.as_str())
        || PERSON_TABLES.contains(&ws.concat().as_str())
}

/// Whether a free-text column's name says people write it (`notes`, `comment`, `bio`).
pub(super) fn is_written_by_people(column: &str) -> bool {
    words(column)
        .iter()
        .any(|w| WRITTEN_BY_PEOPLE.contains(&w.as_str()))
}

/// The kind of personal data a column's name says it holds, if any.
pub(super) fn name_kind(table: &str, column: &str) -> Option<PiiKind> {
    let tokens = words(column);
    let joined = tokens.concat();
    let has = |ws: &[&str]| tokens.iter().any(|t| ws.contains(&t.as_str()));
    let contains = |ws: &[&str]| ws.iter().any(|w| joined.contains(w));
    if tokens.is_empty() || has(MODIFIERS) {
        return None;
    }
    let keyish = has(KEY_WORDS);
    if contains(&["cardholder", "accountholder", "holdername"]) {
        return Some(PiiKind::FullName);
    }
    if has(&[
        "password",
        "passwd",
        "pwd",
        "passcode",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "salt",
        "otp",
        "totp",
        "cvv",
        "cvv2",
        "cvc",
        "csc",
        "credential",
        "credentials",
        "apikey",
    ]) || contains(&[
        "password",
        "passwd",
        "apikey",
        "apisecret",
        "secretkey",
        "privatekey",
        "accesskey",
        "clientsecret",
        "accesstoken",
        "refreshtoken",
        "authtoken",
        "apitoken",
        "sessiontoken",
        "resettoken",
        "bearertoken",
    ]) || (has(&["api", "private", "access", "signing"]) && has(&["key"]))
    {
        return Some(PiiKind::Secret);
    }
    if has(&[
        "ssn", "sin", "nin", "nino", "tin", "itin", "passport", "cpf", "nif", "nie", "bsn",
        "pesel", "aadhaar", "aadhar", "snils", "curp", "dni", "nric", "svnr",
    ]) || contains(&[
        "socialsecurity",
        "socialinsurance",
        "nationalid",
        "nationalidentity",
        "nationalinsurance",
        "taxid",
        "taxnumber",
        "taxpayerid",
        "taxidentification",
        "passport",
        "driverlicense",
        "driverslicense",
        "driverlicence",
        "driverslicence",
        "drivinglicense",
        "drivinglicence",
        "identitycard",
        "identitynumber",
        "idcardnumber",
        "personnummer",
    ]) {
        return Some(PiiKind::NationalId);
    }
    let card = has(&["pan", "ccn"])
        || contains(&[
            "cardnumber",
            "creditcard",
            "debitcard",
            "ccnumber",
            "cardno",
            "cardnum",
            "ccnum",
            "primaryaccountnumber",
        ])
        || (has(&["cc", "card"]) && has(&["number", "num", "no", "nr"]));
    if card {
        return (!keyish).then_some(PiiKind::CardNumber);
    }
    let bank = has(&["iban", "bban"])
        || contains(&[
            "accountnumber",
            "bankaccount",
            "bankacct",
            "acctnumber",
            "acctno",
            "accountno",
            "accountnum",
        ]);
    if bank {
        return (!keyish).then_some(PiiKind::Iban);
    }
    let birth = has(&["dob", "born", "birth", "birthdate", "birthday"])
        || contains(&["birthdate", "dateofbirth", "birthday", "birthdt"]);
    if birth {
        return Some(
            if has(&["place", "city", "town", "country"]) || contains(&["birthplace"]) {
                PiiKind::City
            } else {
                PiiKind::BirthDate
            },
        );
    }
    if has(&["ipv6", "ipv4", "ip"]) || contains(&["ipaddress", "ipaddr", "remoteaddr"]) {
        return Some(PiiKind::IpAddress);
    }
    let from_semantic = match Semantic::infer(table, column) {
        Some(Semantic::FirstName) => Some(PiiKind::FirstName),
        Some(Semantic::LastName) => Some(PiiKind::LastName),
        Some(Semantic::FullName) => Some(PiiKind::FullName),
        Some(Semantic::Email) => Some(PiiKind::Email),
        Some(Semantic::Phone) => Some(PiiKind::Phone),
        Some(Semantic::Street | Semantic::AddressLine2) => Some(PiiKind::Street),
        Some(Semantic::City) => Some(PiiKind::City),
        Some(Semantic::Zip) => Some(PiiKind::Zip),
        Some(Semantic::Company) => Some(PiiKind::Company),
        Some(Semantic::Username) => Some(PiiKind::Username),
        Some(Semantic::Ipv4) => Some(PiiKind::IpAddress),
        Some(Semantic::Latitude | Semantic::Longitude) => Some(PiiKind::GeoPosition),
        Some(Semantic::Sentence) => Some(PiiKind::FreeText),
        _ => None,
    };
    if from_semantic.is_some() {
        return from_semantic;
    }
    if has(MORE_FREE_TEXT) && !keyish && !has(&["no", "nr", "num", "number", "code"]) {
        return Some(PiiKind::FreeText);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use PiiKind::*;

    #[test]
    fn names_map_to_kinds() {
        for (table, column, kind) in [
            ("customer", "email", Some(Email)),
            ("customer", "EmailAddress", Some(Email)),
            ("customer", "first_name", Some(FirstName)),
            ("customer", "surname", Some(LastName)),
            ("customer", "name", Some(FullName)),
            ("customer", "mobile_phone", Some(Phone)),
            ("customer", "ssn", Some(NationalId)),
            ("customer", "social_security_number", Some(NationalId)),
            ("customer", "tax_id", Some(NationalId)),
            ("customer", "passport_no", Some(NationalId)),
            ("customer", "driver_license_number", Some(NationalId)),
            ("customer", "national_id", Some(NationalId)),
            ("customer", "birth_date", Some(BirthDate)),
            ("customer", "DateOfBirth", Some(BirthDate)),
            ("customer", "dob", Some(BirthDate)),
            ("customer", "born_on", Some(BirthDate)),
            ("customer", "place_of_birth", Some(City)),
            ("payment", "card_number", Some(CardNumber)),
            ("payment", "credit_card", Some(CardNumber)),
            ("payment", "cc_number", Some(CardNumber)),
            ("payment", "pan", Some(CardNumber)),
            ("payment", "card_holder_name", Some(FullName)),
            ("payment", "card_type", None),
            ("payment", "card_id", None),
            ("payment", "iban", Some(Iban)),
            ("payment", "account_number", Some(Iban)),
            ("payment", "bank_account", Some(Iban)),
            ("payment", "bank_account_id", None),
            ("staff", "password", Some(Secret)),
            ("staff", "password_hash", Some(Secret)),
            ("staff", "passwd", Some(Secret)),
            ("staff", "api_key", Some(Secret)),
            ("staff", "ApiToken", Some(Secret)),
            ("staff", "reset_token", Some(Secret)),
            ("staff", "token_type", None),
            ("staff", "password_changed_at", None),
            ("staff", "secretary", None),
            ("staff", "notes", Some(FreeText)),
            ("staff", "comment", Some(FreeText)),
            ("message", "body", Some(FreeText)),
            ("message", "message_id", None),
            ("session", "ip_address", Some(IpAddress)),
            ("session", "client_ip", Some(IpAddress)),
            ("session", "remote_addr", Some(IpAddress)),
            ("address", "address", Some(Street)),
            ("address", "address2", Some(Street)),
            ("address", "city", Some(City)),
            ("address", "postal_code", Some(Zip)),
            ("store", "lat", Some(GeoPosition)),
            ("account", "username", Some(Username)),
            ("customer", "company_name", Some(Company)),
            ("customer", "email_verified", None),
            ("customer", "phone_type", None),
            ("product", "name", None),
            ("product", "price", None),
            ("product", "sku", None),
            ("product", "description", Some(FreeText)),
            ("customer", "status", None),
        ] {
            assert_eq!(name_kind(table, column), kind, "{table}.{column}");
        }
    }

    #[test]
    fn person_tables_and_people_written_text() {
        for t in [
            "customer",
            "customers",
            "app_users",
            "Employees",
            "staff",
            "people",
        ] {
            assert!(is_person_table(t), "{t}");
        }
        for t in ["product", "payment", "film", "address", "order_lines"] {
            assert!(!is_person_table(t), "{t}");
        }
        assert!(is_written_by_people("notes"));
        assert!(is_written_by_people("internal_comment"));
        assert!(!is_written_by_people("description"));
    }
}
