//! Semantic kinds: what a column holds, inferred from its name and its table's name.
//!
//! Names are split into lower-case words at anything that is not a letter or digit and at
//! camel-case humps (`ShipCity` -> `ship city`), and table names are read in the singular
//! (`categories` -> `category`). A bare `name` (or `<thing>_name`) takes its meaning from the
//! table or the thing: a `language`'s name is a language, a `category`'s or `genre`'s a
//! category word, a `customer`'s a person's full name, a `film`'s or `product`'s a title, a
//! `supplier`'s a company. Words that mark keys (`id`, `key`, `no`, `code`, ...) keep numeric
//! kinds off key columns (`rating_id` is not a rating).

use serde::{Deserialize, Serialize};

/// What a column holds, inferred from its name (and its table's name).
///
/// Text columns take every kind; integer and numeric columns take the numeric ones
/// ([`Semantic::is_numeric`]), with plausible magnitudes unless checks bound them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Semantic {
    /// A given name.
    FirstName,
    /// A family name.
    LastName,
    /// A person's full name.
    FullName,
    /// An email address.
    Email,
    /// A phone number.
    Phone,
    /// A street address line.
    Street,
    /// A city.
    City,
    /// A state or region code.
    State,
    /// A postal code.
    Zip,
    /// A country.
    Country,
    /// A company name.
    Company,
    /// A URL.
    Url,
    /// A user name.
    Username,
    /// A sentence of text (descriptions, notes, comments).
    Sentence,
    /// The second line of an address (`Apt. 12`).
    AddressLine2,
    /// A region, district or county name.
    Region,
    /// A language name (`German`).
    Language,
    /// A category or genre word (`Comedy`).
    Category,
    /// A title of a few capitalised words.
    Title,
    /// A job title (`Senior Marketing Manager`).
    JobTitle,
    /// A colour name.
    Colour,
    /// An IPv4 address (in the documentation ranges).
    Ipv4,
    /// An ISO 4217 currency code.
    CurrencyCode,
    /// An ISO 639-1 language code.
    LanguageCode,
    /// An ISO 3166-1 alpha-2 country code.
    CountryCode,
    /// A money amount (1 to 500).
    Amount,
    /// A price (0.99 to 99.99).
    Price,
    /// A quantity (1 to 20).
    Quantity,
    /// A percentage (0 to 100).
    Percentage,
    /// A rating (1 to 5).
    Rating,
    /// A duration in minutes (1 to 180).
    Duration,
    /// A latitude in degrees (-90 to 90).
    Latitude,
    /// A longitude in degrees (-180 to 180).
    Longitude,
    /// A year (the last 30 years up to the reference date's).
    Year,
}

/// Words that mark a key or code column: numeric kinds stay off it.
const KEY_WORDS: &[&str] = &[
    "id", "key", "no", "nr", "num", "number", "code", "uuid", "ref", "fk", "pk",
];

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
    "actor",
    "artist",
    "client",
    "owner",
    "driver",
    "teacher",
    "manager",
    "guest",
    "passenger",
    "worker",
    "full",
    "display",
    "contact",
];

const WORKER_TABLES: &[&str] = &["employee", "staff", "worker", "personnel", "contact"];

const COMPANY_WORDS: &[&str] = &[
    "company",
    "organization",
    "organisation",
    "employer",
    "vendor",
    "supplier",
    "shipper",
    "manufacturer",
    "brand",
    "publisher",
    "bank",
    "carrier",
    "merchant",
    "agency",
    "partner",
    "store",
    "shop",
];

const TITLE_TABLES: &[&str] = &[
    "product", "item", "film", "movie", "album", "track", "song", "book", "course", "playlist",
    "event", "project", "game", "show", "episode", "title", "article", "post",
];

const CATEGORY_TABLES: &[&str] = &[
    "category",
    "genre",
    "tag",
    "type",
    "kind",
    "section",
    "department",
    "class",
    "mediatype",
];

/// Splits a name into lower-case words at non-alphanumerics and camel-case humps.
pub(crate) fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A word in the singular (`categories` -> `category`, `addresses` -> `address`).
pub(crate) fn singular(w: &str) -> String {
    if let Some(stem) = w.strip_suffix("ies") {
        format!("{stem}y")
    } else if w.ends_with("sses") || w.ends_with("xes") || w.ends_with("ches") {
        w[..w.len() - 2].to_owned()
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && w.len() > 3 {
        w[..w.len() - 1].to_owned()
    } else {
        w.to_owned()
    }
}

impl Semantic {
    /// Infers what a column holds from its name and its table's name.
    pub fn infer(table: &str, column: &str) -> Option<Semantic> {
        let tokens = words(column);
        let has = |w: &[&str]| tokens.iter().any(|t| w.contains(&t.as_str()));
        let joined = tokens.concat();
        let table_words: Vec<String> = words(table).iter().map(|w| singular(w)).collect();
        let table_is = |w: &[&str]| {
            table_words.last().is_some_and(|t| w.contains(&t.as_str()))
                || w.contains(&table_words.concat().as_str())
        };
        let keyish = has(KEY_WORDS);
        let numeric = |k: Semantic| (!keyish).then_some(k);
        use Semantic::*;
        if has(&["email", "mail"]) || joined.contains("email") {
            return Some(Email);
        }
        if has(&[
            "phone",
            "mobile",
            "fax",
            "tel",
            "telephone",
            "cell",
            "cellphone",
        ]) || joined.contains("phone")
        {
            return Some(Phone);
        }
        if has(&["url", "website", "homepage", "link", "uri", "href", "web"]) {
            return Some(Url);
        }
        if has(&["ip", "ipv4", "ipaddr", "ipaddress"]) || joined.contains("ipaddress") {
            return Some(Ipv4);
        }
        if joined.contains("firstname") || joined.contains("givenname") || has(&["forename"]) {
            return Some(FirstName);
        }
        if joined.contains("lastname")
            || joined.contains("surname")
            || joined.contains("familyname")
        {
            return Some(LastName);
        }
        if has(&["username", "login", "handle", "nickname", "screenname"])
            || joined.contains("username")
        {
            return Some(Username);
        }
        if (has(&["country"]) && has(&["code", "iso", "iso2", "alpha2"])) || has(&["iso2"]) {
            return Some(CountryCode);
        }
        if (has(&["language", "lang"]) && has(&["code", "iso"])) || has(&["lang", "locale"]) {
            return Some(LanguageCode);
        }
        if has(&["currency"]) {
            return Some(CurrencyCode);
        }
        if has(&["city", "town"]) {
            return Some(City);
        }
        if has(&[
            "district",
            "region",
            "county",
            "province",
            "prefecture",
            "territory",
        ]) {
            return Some(Region);
        }
        if has(&["state"]) {
            return Some(State);
        }
        if has(&["zip", "zipcode", "postal", "postcode", "plz", "cep"]) {
            return Some(Zip);
        }
        if has(&["country"]) {
            return Some(Country);
        }
        if has(&["address2", "line2"]) {
            return Some(AddressLine2);
        }
        if has(&["street", "address", "address1", "line1", "addr"]) {
            return Some(Street);
        }
        if has(&["language"]) {
            return Some(Language);
        }
        if has(&["job", "jobtitle", "occupation", "designation", "profession"])
            || (has(&["title"]) && table_is(WORKER_TABLES))
        {
            return Some(JobTitle);
        }
        if has(&["title", "headline", "subject"]) {
            return Some(Title);
        }
        if has(COMPANY_WORDS) {
            return Some(Company);
        }
        if has(&["color", "colour"]) {
            return Some(Colour);
        }
        if has(&[
            "description",
            "notes",
            "note",
            "comment",
            "comments",
            "summary",
            "bio",
            "remarks",
            "about",
            "details",
        ]) {
            return Some(Sentence);
        }
        if has(&["lat", "latitude"]) {
            return numeric(Latitude);
        }
        if has(&["lon", "lng", "longitude"]) || tokens == ["long"] {
            return numeric(Longitude);
        }
        if has(&["rate"]) && has(&["tax", "interest", "discount", "vat"]) {
            return numeric(Percentage);
        }
        if has(&["price", "cost", "fee", "rate", "fare", "msrp"]) {
            return numeric(Price);
        }
        if has(&[
            "amount", "total", "subtotal", "balance", "revenue", "payment", "paid", "charge",
            "freight",
        ]) {
            return numeric(Amount);
        }
        if has(&["quantity", "qty", "units", "count", "stock"]) {
            return numeric(Quantity);
        }
        if has(&["rating", "stars", "score"]) {
            return numeric(Rating);
        }
        if has(&["percent", "percentage", "pct"]) {
            return numeric(Percentage);
        }
        if has(&["duration", "length", "minutes", "mins", "runtime"]) {
            return numeric(Duration);
        }
        if has(&["year"]) {
            return numeric(Year);
        }
        let named = tokens.last().is_some_and(|t| t == "name")
            || joined == "fullname"
            || joined == "displayname";
        if !named {
            return None;
        }
        // A name: of the thing before `name`, or of the table.
        let thing: Vec<String> = if tokens.len() > 1 {
            tokens[..tokens.len() - 1]
                .iter()
                .map(|w| singular(w))
                .collect()
        } else {
            table_words.clone()
        };
        let is = |w: &[&str]| {
            thing.last().is_some_and(|t| w.contains(&t.as_str()))
                || w.contains(&thing.concat().as_str())
        };
        Some(if is(&["language"]) {
            Language
        } else if is(CATEGORY_TABLES) {
            Category
        } else if is(PERSON_TABLES) {
            FullName
        } else if is(COMPANY_WORDS) {
            Company
        } else if is(&["country"]) {
            Country
        } else if is(&["city", "town"]) {
            City
        } else if is(&[
            "region",
            "district",
            "county",
            "territory",
            "province",
            "state",
        ]) {
            Region
        } else if is(&["street"]) {
            Street
        } else if is(TITLE_TABLES) {
            Title
        } else {
            Company
        })
    }

    /// Whether the kind also applies to integer and numeric columns.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Semantic::Amount
                | Semantic::Price
                | Semantic::Quantity
                | Semantic::Percentage
                | Semantic::Rating
                | Semantic::Duration
                | Semantic::Latitude
                | Semantic::Longitude
                | Semantic::Year
        )
    }

    /// Whether the kind describes the row's person (their names, email and user name come
    /// from one person per row).
    pub fn is_person(self) -> bool {
        matches!(
            self,
            Semantic::FirstName
                | Semantic::LastName
                | Semantic::FullName
                | Semantic::Email
                | Semantic::Username
        )
    }

    /// Whether the kind describes the row's address (city, state, region and postal code of
    /// one row go together).
    pub fn is_address(self) -> bool {
        matches!(
            self,
            Semantic::Street
                | Semantic::AddressLine2
                | Semantic::City
                | Semantic::State
                | Semantic::Region
                | Semantic::Zip
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_semantics() {
        assert_eq!(
            Semantic::infer("member", "first_name"),
            Some(Semantic::FirstName)
        );
        assert_eq!(
            Semantic::infer("member", "address_line1"),
            Some(Semantic::Street)
        );
        assert_eq!(
            Semantic::infer("member", "address_state"),
            Some(Semantic::State)
        );
        assert_eq!(Semantic::infer("member", "status"), None);
        assert_eq!(
            Semantic::infer("customer", "name"),
            Some(Semantic::FullName)
        );
        assert_eq!(Semantic::infer("vendor", "name"), Some(Semantic::Company));
        assert_eq!(
            Semantic::infer("users", "contact_email"),
            Some(Semantic::Email)
        );
    }

    #[test]
    fn a_columns_table_and_name_words_decide_together() {
        use Semantic::*;
        for (table, column, kind) in [
            ("language", "name", Some(Language)),
            ("languages", "name", Some(Language)),
            ("category", "name", Some(Category)),
            ("Genre", "Name", Some(Category)),
            ("categories", "CategoryName", Some(Category)),
            ("film", "title", Some(Title)),
            ("products", "ProductName", Some(Title)),
            ("employees", "Title", Some(JobTitle)),
            ("staff", "job_title", Some(JobTitle)),
            ("film", "description", Some(Sentence)),
            ("address", "district", Some(Region)),
            ("address", "address2", Some(AddressLine2)),
            ("address", "postal_code", Some(Zip)),
            ("orders", "ShipCity", Some(City)),
            ("suppliers", "CompanyName", Some(Company)),
            ("shippers", "name", Some(Company)),
            ("payment", "amount", Some(Amount)),
            ("film", "rental_rate", Some(Price)),
            ("film", "replacement_cost", Some(Price)),
            ("order_details", "UnitPrice", Some(Price)),
            ("invoice", "Total", Some(Amount)),
            ("order_line", "qty", Some(Quantity)),
            ("review", "rating", Some(Rating)),
            ("film", "length", Some(Duration)),
            ("film", "release_year", Some(Year)),
            ("store", "lat", Some(Latitude)),
            ("store", "lng", Some(Longitude)),
            ("account", "tax_rate", Some(Percentage)),
            ("session", "ip_address", Some(Ipv4)),
            ("product", "colour", Some(Colour)),
            ("payment", "currency", Some(CurrencyCode)),
            ("country", "country_code", Some(CountryCode)),
            ("profile", "language_code", Some(LanguageCode)),
            ("country", "country", Some(Country)),
            ("city", "city", Some(City)),
            ("review", "rating_id", None),
            ("payment", "payment_id", None),
            ("film", "special_features", None),
        ] {
            assert_eq!(Semantic::infer(table, column), kind, "{table}.{column}");
        }
    }
}
