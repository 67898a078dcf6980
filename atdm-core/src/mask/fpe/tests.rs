use super::*;
use std::collections::BTreeSet;

fn prf(label: &str) -> Prf {
    let mut key = [0u8; 16];
    key[..label.len().min(16)].copy_from_slice(&label.as_bytes()[..label.len().min(16)]);
    Prf::new(&key)
}

fn tweak(label: &str) -> Tweak {
    Tweak::new(&prf(label), b"test")
}

#[test]
fn open_siphash_is_siphash() {
    let key: [u8; 16] = *b"0123456789abcdef";
    let reference = SipHasher24::new_with_key(&key);
    let data: Vec<u8> = (0..80u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
    for len in 0..data.len() {
        let mut h = reference;
        h.write(&data[..len]);
        // In one piece and in uneven pieces.
        let mut a = Sip::new(&key);
        a.write(&data[..len]);
        assert_eq!(a.finish128(), finish(&h), "{len}");
        let mut b = Sip::new(&key);
        for piece in data[..len].chunks(3) {
            b.write(piece);
        }
        assert_eq!(b.finish128(), finish(&h), "{len}");
    }
    // The round function is the first half of the output of the whole input.
    let mut s = Sip::new(&key);
    s.write(&data[..24]);
    let mut whole = data[..24].to_vec();
    whole.extend_from_slice(&0x0123_4567_89ab_cdefu64.to_le_bytes());
    whole.push(7);
    let mut h = reference;
    h.write(&whole);
    assert_eq!(
        u128::from(s.round_output(0x0123_4567_89ab_cdef, 7)),
        finish(&h) & u128::from(u64::MAX)
    );
}

#[test]
fn encryption_is_a_permutation_of_every_small_domain() {
    let t = tweak("k1");
    for n in 1..=300u128 {
        let mut seen = vec![false; n as usize];
        for x in 0..n {
            let y = t.encrypt(n, x);
            assert!(y < n, "n={n} x={x} y={y}");
            assert!(!seen[y as usize], "n={n}: {y} hit twice");
            seen[y as usize] = true;
            assert_eq!(t.decrypt(n, y), x, "n={n} x={x}");
        }
    }
    for bits in 0..=10u32 {
        let mut seen = BTreeSet::new();
        for x in 0..(1u128 << bits) {
            let y = t.encrypt_bits(bits, x);
            assert!(y < 1 << bits);
            assert!(seen.insert(y));
            assert_eq!(t.decrypt_bits(bits, y), x);
        }
    }
}

#[test]
fn the_pair_network_is_a_permutation() {
    let t = tweak("k1");
    for a in 1..=20u64 {
        for b in 1..=20u64 {
            let mut seen = BTreeSet::new();
            for hi in 0..a {
                for lo in 0..b {
                    let (h, l) = t.encrypt_pair(a, b, hi, lo);
                    assert!(h < a && l < b);
                    assert!(seen.insert((h, l)), "a={a} b={b}");
                    assert_eq!(t.decrypt_pair(a, b, h, l), (hi, lo));
                }
            }
        }
    }
    for (a, b) in [
        (26u64.pow(12), 26u64.pow(13)),
        (u64::MAX, u64::MAX - 1),
        (1 << 32, 3),
    ] {
        let (hi, lo) = (a / 3, b - 1);
        let (h, l) = t.encrypt_pair(a, b, hi, lo);
        assert!(h < a && l < b);
        assert_eq!(t.decrypt_pair(a, b, h, l), (hi, lo));
        assert_ne!((h, l), (hi, lo));
    }
}

#[test]
fn blocks_split_into_halves_of_64_bits() {
    // Every mix of digits and letters at the block limit.
    for letters_first in [true, false] {
        for letters in 0..=25usize {
            let mut radices = Vec::new();
            let mut n: u128 = 1;
            let mut k = 0;
            loop {
                let r: u8 = if (k < letters) == letters_first {
                    26
                } else {
                    10
                };
                if n * u128::from(r) > BLOCK_LIMIT {
                    break;
                }
                n *= u128::from(r);
                radices.push(r);
                k += 1;
            }
            let k = split(&radices, n);
            assert!(k >= 1 && k < radices.len());
            let a: u128 = radices[..k].iter().map(|&r| u128::from(r)).product();
            assert!(a <= u128::from(u64::MAX) && n / a <= u128::from(u64::MAX));
            assert!(n / a > 1);
        }
    }
    assert_eq!(split(&[10, 10], 100), 1);
    assert_eq!(split(&[26, 10], 260), 1);
}

#[test]
fn decryption_inverts_encryption_on_large_domains() {
    let t = tweak("k2");
    let domains = [
        1000u128,
        u128::from(u32::MAX),
        u128::from(u64::MAX) + 12345,
        (1u128 << 120) - 3,
        u128::MAX,
    ];
    for n in domains {
        let mut x = n / 7;
        for _ in 0..50 {
            let y = t.encrypt(n, x);
            assert!(y < n);
            assert_eq!(t.decrypt(n, y), x);
            x = (x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407))
                % n;
        }
    }
    for bits in [61, 64, 100, 122, 127, 128] {
        let x = u128::MAX >> (128 - bits);
        let y = t.encrypt_bits(bits, x);
        assert_eq!(t.decrypt_bits(bits, y), x);
        assert!(bits == 128 || y >> bits == 0);
    }
}

#[test]
fn keys_tweaks_and_domains_give_different_permutations() {
    let (a, b) = (tweak("k1"), tweak("k2"));
    let mut c = a;
    c.write(b"other");
    let n = 1u128 << 40;
    let xs: Vec<u128> = (0..100).map(|i| i * 7919).collect();
    let ea: Vec<u128> = xs.iter().map(|&x| a.encrypt(n, x)).collect();
    let eb: Vec<u128> = xs.iter().map(|&x| b.encrypt(n, x)).collect();
    let ec: Vec<u128> = xs.iter().map(|&x| c.encrypt(n, x)).collect();
    let ed: Vec<u128> = xs.iter().map(|&x| a.encrypt(n + 1, x)).collect();
    let same = |p: &[u128], q: &[u128]| p.iter().zip(q).filter(|(x, y)| x == y).count();
    assert!(same(&ea, &eb) < 3);
    assert!(same(&ea, &ec) < 3);
    assert!(same(&ea, &ed) < 3);
    assert_eq!(
        ea,
        xs.iter().map(|&x| a.encrypt(n, x)).collect::<Vec<_>>(),
        "deterministic"
    );
}

fn enc(t: &Tweak, s: &str, sel: Select) -> String {
    let mut buf = s.as_bytes().to_vec();
    encrypt_text(t, &mut buf, sel);
    let out = String::from_utf8(buf).unwrap();
    let mut back = out.as_bytes().to_vec();
    decrypt_text(t, &mut back, sel);
    assert_eq!(String::from_utf8(back).unwrap(), s, "round trip of {s:?}");
    out
}

fn class(c: char) -> u8 {
    if c.is_ascii_digit() {
        0
    } else if c.is_ascii_lowercase() {
        1
    } else if c.is_ascii_uppercase() {
        2
    } else {
        3
    }
}

#[test]
fn text_keeps_classes_case_and_other_characters() {
    let t = tweak("k1");
    for s in [
        "",
        "-",
        "a",
        "Z",
        "7",
        "Jean-Luc Picard",
        "José Müller-Lüdenscheidt",
        "ab12CD34 ef-56",
        "佐藤 Taro 42",
        "x@y.z",
    ] {
        let out = enc(&t, s, Select::ALL);
        assert_eq!(out.chars().count(), s.chars().count());
        assert_eq!(out.len(), s.len());
        for (a, b) in s.chars().zip(out.chars()) {
            assert_eq!(class(a), class(b), "{s:?} -> {out:?}");
            if class(a) == 3 {
                assert_eq!(a, b);
            }
        }
    }
    assert_ne!(enc(&t, "Jean-Luc Picard", Select::ALL), "Jean-Luc Picard");
}

#[test]
fn texts_differing_in_case_map_to_texts_differing_in_case() {
    let t = tweak("k1");
    let a = enc(&t, "McDonald 42", Select::ALL);
    let b = enc(&t, "MCDONALD 42", Select::ALL);
    let c = enc(&t, "mcdonald 42", Select::ALL);
    assert_eq!(a.to_ascii_lowercase(), b.to_ascii_lowercase());
    assert_eq!(a.to_ascii_lowercase(), c);
    assert_eq!(b, b.to_ascii_uppercase());
    assert_ne!(a, b);
}

#[test]
fn text_is_a_bijection_on_small_patterns() {
    let t = tweak("k3");
    let mut seen = BTreeSet::new();
    for i in 0..1000 {
        let s = format!("{:02}-{}", i / 10, char::from(b'a' + (i % 10) as u8));
        assert!(seen.insert(enc(&t, &s, Select::ALL)));
    }
    let mut seen = BTreeSet::new();
    for a in b'a'..=b'z' {
        for b in b'a'..=b'z' {
            let s = String::from_utf8(vec![a, b]).unwrap();
            assert!(seen.insert(enc(&t, &s, Select::ALL)));
        }
    }
    assert_eq!(seen.len(), 26 * 26);
}

#[test]
fn long_texts_are_chained_blocks() {
    let t = tweak("k1");
    // 80 letters: four blocks of 25, 25, 25 and 5 letters.
    let block = "abcdefghijklmnopqrstuvwxy";
    let s = format!("{block}{block}{block}abcde");
    let out = enc(&t, &s, Select::ALL);
    let parts: Vec<&str> = (0..3).map(|i| &out[i * 25..(i + 1) * 25]).collect();
    assert_ne!(parts[0], parts[1]);
    assert_ne!(parts[1], parts[2]);
    // A change in one block changes that block and the ones after it.
    let mut s2 = s.clone().into_bytes();
    s2[30] = if s2[30] == b'q' { b'r' } else { b'q' };
    let out2 = enc(&t, std::str::from_utf8(&s2).unwrap(), Select::ALL);
    assert_eq!(out[..25], out2[..25]);
    assert_ne!(out[25..50], out2[25..50]);
    assert_ne!(out[50..75], out2[50..75]);
    // Long digit strings too, and mixed ones.
    let digits: String = (0..100)
        .map(|i| char::from(b'0' + (i * 7 % 10) as u8))
        .collect();
    let d = enc(&t, &digits, Select::ALL);
    assert!(d.bytes().all(|b| b.is_ascii_digit()));
    assert_ne!(d, digits);
    let mixed: String = (0..200)
        .map(|i| match i % 5 {
            0 => 'A',
            1 => '3',
            2 => ' ',
            3 => 'é',
            _ => 'q',
        })
        .collect();
    enc(&t, &mixed, Select::ALL);
}

#[test]
fn selections_keep_the_rest() {
    let t = tweak("k1");
    let sel = Select::digits(3, 9);
    let s = "+1 (415) 555-0123 x9";
    let out = enc(&t, s, sel);
    let digits = |s: &str| s.bytes().filter(u8::is_ascii_digit).collect::<Vec<u8>>();
    let (a, b) = (digits(s), digits(&out));
    assert_eq!(a[..3], b[..3]);
    assert_eq!(a[9..], b[9..]);
    assert_ne!(a[3..9], b[3..9]);
    assert!(out.ends_with('x') || out.contains(" x"));
    // A selection across block limits.
    let long: String = (0..90).map(|i| char::from(b'0' + (i % 10) as u8)).collect();
    let sel = Select::digits(5, 85);
    let out = enc(&t, &long, sel);
    assert_eq!(out[..5], long[..5]);
    assert_eq!(out[85..], long[85..]);
    let mut seen = BTreeSet::new();
    for i in 0..100 {
        let s = format!("12{i:02}9");
        let out = enc(&t, &s, Select::digits(2, 4));
        assert!(out.starts_with("12") && out.ends_with('9'));
        assert!(seen.insert(out));
    }
}

#[test]
fn luhn_and_iban_check_digits() {
    assert!(luhn_valid("4111 1111 1111 1111"));
    assert!(luhn_valid("79927398713"));
    assert!(!luhn_valid("79927398710"));
    assert_eq!(
        luhn_check_digit([7, 9, 9, 2, 7, 3, 9, 8, 7, 1].into_iter()),
        3
    );
    for iban in [
        "GB82WEST12345698765432",
        "GB82 WEST 1234 5698 7654 32",
        "DE89370400440532013000",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "CH9300762011623852957",
    ] {
        assert!(iban_valid(iban), "{iban}");
        let c: Vec<u8> = iban.bytes().filter(|&b| b != b' ').collect();
        let check = iban_check_digits([c[0], c[1]], c[4..].iter().copied());
        assert_eq!(check, (c[2] - b'0') * 10 + (c[3] - b'0'), "{iban}");
    }
    assert!(!iban_valid("GB83WEST12345698765432"));
    assert!(iban_valid("gb82west12345698765432"));
}
