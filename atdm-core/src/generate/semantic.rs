//! Semantic kinds: what a column holds, inferred from its name and its table's name.

use serde::{Deserialize, Serialize};

/// What a text column holds, inferred from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// A few words of text.
    Sentence,
}

impl Semantic {
    /// Infers what a text column holds from its name (and, for a bare `name`, the table's).
    pub fn infer(table: &str, column: &str) -> Option<Semantic> {
        let col = column.to_ascii_lowercase();
        let tokens: Vec<&str> = col
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|t| !t.is_empty())
            .collect();
        let has = |w: &[&str]| tokens.iter().any(|t| w.contains(t));
        let joined = tokens.join("");
        Some(if has(&["email", "mail"]) || joined.contains("email") {
            Semantic::Email
        } else if has(&["phone", "mobile", "fax", "tel", "telephone", "cell"]) {
            Semantic::Phone
        } else if joined.contains("firstname") || joined.contains("givenname") || has(&["forename"])
        {
            Semantic::FirstName
        } else if joined.contains("lastname")
            || joined.contains("surname")
            || joined.contains("familyname")
        {
            Semantic::LastName
        } else if has(&["city", "town"]) {
            Semantic::City
        } else if has(&["state", "province", "region"]) {
            Semantic::State
        } else if has(&["zip", "zipcode", "postal", "postcode"]) {
            Semantic::Zip
        } else if has(&["country"]) {
            Semantic::Country
        } else if has(&["street", "address", "address1", "line1", "addr"]) {
            Semantic::Street
        } else if has(&[
            "company",
            "organization",
            "organisation",
            "employer",
            "vendor",
            "supplier",
        ]) {
            Semantic::Company
        } else if has(&["url", "website", "homepage", "link", "uri"]) {
            Semantic::Url
        } else if has(&["username", "login", "handle", "nickname"]) {
            Semantic::Username
        } else if has(&[
            "description",
            "notes",
            "note",
            "comment",
            "comments",
            "summary",
            "bio",
            "remarks",
        ]) {
            Semantic::Sentence
        } else if col == "name" || col == "full_name" || col == "fullname" || col == "display_name"
        {
            let t = table.to_ascii_lowercase();
            let person = [
                "member", "person", "people", "user", "customer", "patient", "employee", "contact",
                "author", "student",
            ];
            if person.iter().any(|p| t.contains(p)) {
                Semantic::FullName
            } else {
                Semantic::Company
            }
        } else {
            return None;
        })
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
}
