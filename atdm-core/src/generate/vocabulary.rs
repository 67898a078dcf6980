//! ATDM's own word lists for kinds `fake` has no list for: language names, category words,
//! titles, descriptions, colours, and common currency and language codes. They are English in
//! every locale. Changing any list changes generated data: bump the generator version.

use super::CellRng;

/// Language names.
pub(crate) const LANGUAGES: &[&str] = &[
    "English",
    "German",
    "French",
    "Spanish",
    "Italian",
    "Portuguese",
    "Japanese",
    "Mandarin",
    "Korean",
    "Arabic",
    "Russian",
    "Hindi",
    "Dutch",
    "Swedish",
    "Polish",
    "Turkish",
    "Greek",
    "Hebrew",
    "Thai",
    "Vietnamese",
];

/// Category and genre words.
pub(crate) const CATEGORIES: &[&str] = &[
    "Adventure",
    "Animation",
    "Biography",
    "Books",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Electronics",
    "Fantasy",
    "Garden",
    "Health",
    "History",
    "Home",
    "Jazz",
    "Kids",
    "Mystery",
    "Outdoors",
    "Pop",
    "Rock",
    "Romance",
    "Science",
    "Sports",
    "Thriller",
    "Toys",
    "Travel",
    "Western",
];

const ADJECTIVES: &[&str] = &[
    "Silent", "Crimson", "Golden", "Hidden", "Lost", "Broken", "Wild", "Frozen", "Electric",
    "Secret", "Midnight", "Northern", "Velvet", "Iron", "Quiet", "Endless", "Bright", "Last",
    "First", "Little", "Distant", "Burning", "Hollow", "Silver", "Restless",
];

const NOUNS: &[&str] = &[
    "Harbor", "Garden", "River", "Empire", "Journey", "Mirror", "Island", "Kingdom", "Shadow",
    "Horizon", "Voyage", "Forest", "Castle", "Story", "Legend", "Summer", "Winter", "Road",
    "Heart", "Window", "Dream", "Valley", "Bridge", "Song", "Lantern", "Orchard", "Compass",
    "Station", "Meadow", "Tide",
];

const LOWER_ADJECTIVES: &[&str] = &[
    "thoughtful",
    "fateful",
    "astounding",
    "brilliant",
    "unbelievable",
    "touching",
    "insightful",
    "emotional",
    "beautiful",
    "quiet",
    "daring",
    "epic",
    "intrepid",
    "charming",
    "lively",
];

const PEOPLE: &[&str] = &[
    "teacher",
    "pilot",
    "gardener",
    "detective",
    "chef",
    "astronaut",
    "librarian",
    "sailor",
    "painter",
    "engineer",
    "student",
    "farmer",
    "musician",
    "doctor",
    "explorer",
];

const VERBS: &[&str] = &[
    "find", "rescue", "outsmart", "meet", "follow", "build", "discover", "escape", "defend",
    "chase", "help", "visit",
];

const PLACES: &[&str] = &[
    "a small town",
    "the mountains",
    "a busy harbor",
    "an old castle",
    "the desert",
    "a train",
    "the city",
    "a lighthouse",
    "the jungle",
    "a space station",
    "a village",
    "the countryside",
];

const THINGS: &[&str] = &[
    "story",
    "drama",
    "tale",
    "saga",
    "portrait",
    "chronicle",
    "documentary",
    "comedy",
];

/// Colour names.
pub(crate) const COLOURS: &[&str] = &[
    "Red",
    "Blue",
    "Green",
    "Black",
    "White",
    "Silver",
    "Grey",
    "Navy",
    "Teal",
    "Maroon",
    "Olive",
    "Beige",
    "Orange",
    "Purple",
    "Yellow",
    "Pink",
    "Brown",
    "Gold",
    "Turquoise",
    "Ivory",
];

/// Currency codes in common use (ISO 4217).
pub(crate) const CURRENCIES: &[&str] = &[
    "USD", "EUR", "GBP", "JPY", "BRL", "CAD", "AUD", "CHF", "CNY", "SEK", "NOK", "MXN", "INR",
];

/// Language codes (ISO 639-1).
pub(crate) const LANGUAGE_CODES: &[&str] = &[
    "en", "de", "fr", "pt", "ja", "es", "it", "nl", "sv", "pl", "zh", "ko",
];

/// A title of two or three capitalised words (`The Silent Harbor`, `Lantern of the Valley`).
pub(crate) fn title(rng: &mut CellRng, out: &mut String) {
    match rng.below(3) {
        0 => {
            out.push_str(rng.word(ADJECTIVES));
            out.push(' ');
            out.push_str(rng.word(NOUNS));
        }
        1 => {
            out.push_str("The ");
            out.push_str(rng.word(ADJECTIVES));
            out.push(' ');
            out.push_str(rng.word(NOUNS));
        }
        _ => {
            out.push_str(rng.word(NOUNS));
            out.push_str(" of the ");
            out.push_str(rng.word(NOUNS));
        }
    }
}

/// A one-sentence description (`A touching tale of a pilot and a chef who must find a
/// lantern in the mountains.`).
pub(crate) fn sentence(rng: &mut CellRng, out: &mut String) {
    let adj = rng.word(LOWER_ADJECTIVES);
    out.push_str(if vowel(adj) { "An " } else { "A " });
    out.push_str(adj);
    out.push(' ');
    out.push_str(rng.word(THINGS));
    out.push_str(" of ");
    with_article(rng.word(PEOPLE), out);
    out.push_str(" and ");
    with_article(rng.word(PEOPLE), out);
    out.push_str(" who must ");
    out.push_str(rng.word(VERBS));
    out.push(' ');
    with_article(&rng.word(NOUNS).to_ascii_lowercase(), out);
    out.push_str(" in ");
    out.push_str(rng.word(PLACES));
    out.push('.');
}

fn vowel(word: &str) -> bool {
    word.starts_with(['a', 'e', 'i', 'o', 'u'])
}

/// `a pilot`, `an engineer`.
fn with_article(noun: &str, out: &mut String) {
    out.push_str(if vowel(noun) { "an " } else { "a " });
    out.push_str(noun);
}

/// An IPv4 address in the documentation ranges (RFC 5737: 192.0.2.0/24, 198.51.100.0/24,
/// 203.0.113.0/24), so it can never be a real host.
pub(crate) fn ipv4(rng: &mut CellRng, out: &mut String) {
    out.push_str(rng.word(&["192.0.2.", "198.51.100.", "203.0.113."]));
    out.push_str(&(1 + rng.below(254)).to_string());
}
