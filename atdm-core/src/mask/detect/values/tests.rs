use super::*;

#[test]
fn emails() {
    for ok in [
        "ann.lee@example.com",
        "a+tag@mail.example.co.uk",
        "o'brien@example.ie",
        "x@ab.io",
    ] {
        assert!(is_email(ok), "{ok}");
    }
    for bad in [
        "ann.lee",
        "@example.com",
        "ann@",
        "ann@localhost",
        "ann@example.c",
        "ann@example.123",
        "ann..lee@example.com",
        ".ann@example.com",
        "ann lee@example.com",
        "ann@-example.com",
        "42",
    ] {
        assert!(!is_email(bad), "{bad}");
    }
}

#[test]
fn ssns_cards_and_ibans() {
    assert!(is_ssn("123-45-6789"));
    assert!(is_ssn("078-05-1120"));
    for bad in [
        "000-12-3456",
        "666-12-3456",
        "123-00-6789",
        "123-45-0000",
        "123456789",
    ] {
        assert!(!is_ssn(bad), "{bad}");
    }
    // Brazil's CPF and France's NIR, with their check digits.
    for ok in [
        "529.982.247-25",
        "111.444.777-35",
        "1 84 12 76 451 089 46",
        "184127645108946",
        "2 69 05 2A 123 456 88",
    ] {
        assert!(is_national_id(ok), "{ok}");
        assert_eq!(whole_kind(ok), Some(PiiKind::NationalId), "{ok}");
    }
    for bad in [
        "529.982.247-24",
        "111.111.111-11",
        "52998224725",
        "1 84 12 76 451 089 47",
        "484127645108946",
        "1 84 12 76 451 08946",
    ] {
        assert!(!is_national_id(bad), "{bad}");
    }
    let f = scan("CPF 529.982.247-25 on file; NIR 1 84 12 76 451 089 46.");
    assert!(f.ssn && !f.phone, "{f:?}");
    for ok in [
        "4111111111111111",
        "4111 1111 1111 1111",
        "5500-0000-0000-0004",
        "378282246310005",
        "6011000990139424",
    ] {
        assert!(is_card(ok), "{ok}");
    }
    for bad in [
        "4111111111111112",
        "4111  1111 1111 1111",
        "0000000000000000",
        "411111111111",
        "4111-1111-1111-1111-",
        "41111111111111111111",
    ] {
        assert!(!is_card(bad), "{bad}");
    }
    for ok in [
        "DE89370400440532013000",
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
        "gb82 west 1234 5698 7654 32",
        "NO9386011117947",
    ] {
        assert!(is_iban(ok), "{ok}");
    }
    for bad in ["DE89370400440532013001", "DE8937040044", "1234567890123456"] {
        assert!(!is_iban(bad), "{bad}");
    }
}

#[test]
fn ip_addresses() {
    for ok in ["192.168.1.10", "10.0.0.0/8", "0.0.0.0", "255.255.255.255"] {
        assert!(is_ipv4(ok), "{ok}");
    }
    for bad in ["256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4/33", "a.b.c.d"] {
        assert!(!is_ipv4(bad), "{bad}");
    }
    for ok in [
        "2001:db8::1",
        "::1",
        "fe80::1ff:fe23:4567:890a",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "::ffff:192.0.2.128",
        "2001:db8::/32",
    ] {
        assert!(is_ipv6(ok), "{ok}");
    }
    for bad in [
        "12:30:45",
        "00:1A:2B:3C:4D:5E",
        "1::2::3",
        "2001:db8:::1",
        "g::1",
    ] {
        assert!(!is_ipv6(bad), "{bad}");
    }
}

#[test]
fn phones() {
    for ok in [
        "+1 (555) 010-0199",
        "555-0100",
        "555.010.0199",
        "(030) 1234567",
        "+44 20 7946 0958",
        "+4915112345678",
        "06 12 34 56 78",
        "1-800-555-0199",
    ] {
        assert!(is_phone(ok, false), "{ok}");
    }
    for bad in [
        "5550100199",
        "2024-01-31",
        "31.01.2024",
        "12345.67",
        "1 234 567",
        "1.234.567",
        "1990-2005",
        "02139-4307",
        "123-45-6789",
        "555-0100 ext 2",
        "12-34",
        "+1 555",
        "((555)) 0100199",
        "1 234 567.89",
    ] {
        assert!(!is_phone(bad, false), "{bad}");
    }
    assert!(is_phone("5550100199", true));
    assert!(!is_phone("123456", true));
}

#[test]
fn personal_data_inside_text() {
    let f = scan("Customer asked to be emailed at jo.doe@example.com, not called.");
    assert!(f.email && !f.phone && !f.card && !f.ssn && !f.iban);
    let f = scan("Call back on +1 (555) 010-0199 after 5pm.");
    assert!(f.phone && !f.email);
    let f = scan("Paid with 4111 1111 1111 1111 on 2024-01-31.");
    assert!(f.card && !f.phone);
    let f = scan("SSN on file: 123-45-6789.");
    assert!(f.ssn && !f.phone);
    let f = scan("Refund to DE89 3704 0044 0532 0130 00 please");
    assert!(f.iban);
    let f = scan("Refund to DE89370400440532013000.");
    assert!(f.iban);
    let clean = scan(
        "Delivered on 2024-01-31 at 10:30, order 1234567 of 3 items, total 1 234.50 EUR, \
         seasons 1990-2005, version 1.2.3.4",
    );
    assert_eq!(clean, Found::default());
}

#[test]
fn sample_counts() {
    let sample = vec![
        Value::Text("ann@example.com".into()),
        Value::Text(" bob@example.org ".into()),
        Value::Null,
        Value::Text("not an email at all".into()),
        Value::Int(4_111_111_111_111_111),
        Value::Int(5_550_100),
    ];
    let st = Stats::of(&sample);
    assert_eq!(st.n, 5);
    assert_eq!(st.email, 2);
    assert_eq!(st.card, 1);
    assert_eq!(st.phone_loose, 1);
    assert_eq!(st.multiword, 1);
    assert_eq!(st.with_embedded, 2);
    assert_eq!(st.top(0.4), Some((PiiKind::Email, 2)));
    assert_eq!(st.top(0.6), None);
    let many: Vec<Value> = (0..MAX_SAMPLE + 10)
        .map(|i| Value::Int(i64::try_from(i).expect("small")))
        .collect();
    assert_eq!(Stats::of(&many).n, MAX_SAMPLE);
}
