//! The market's words: products, money, ids.

use bazaar_protocol::{Money, PeerId, Product};

#[test]
fn products_keep_the_seeds_numbers() {
    for (i, p) in Product::ALL.into_iter().enumerate() {
        assert_eq!(p.index(), i);
        assert_eq!(Product::from_index(i), Some(p));
    }
    assert_eq!(Product::from_index(3), None);
}

#[test]
fn products_parse_by_name() {
    assert_eq!("Salt".parse::<Product>(), Ok(Product::Salt));
    let err = "gold".parse::<Product>().unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"unknown product "gold": expected fish, salt or boar"#
    );
}

#[test]
fn money_prints_in_units_and_cents() {
    assert_eq!(Money(1_005).to_string(), "10.05");
    assert_eq!(Money::units(3) * 4, Money(1_200));
    assert_eq!([Money(1), Money(2)].into_iter().sum::<Money>(), Money(3));
}

#[test]
fn peer_ids_parse_and_print_as_numbers() {
    assert_eq!("6".parse::<PeerId>().unwrap(), PeerId(6));
    assert_eq!(PeerId(6).to_string(), "6");
}

#[test]
fn forged_amounts_saturate_instead_of_panicking() {
    use bazaar_protocol::{BuyReply, Fill, RequestId};
    let fill = Fill {
        seller: PeerId(1),
        quantity: u32::MAX,
        unit_price: Money(u64::MAX),
    };
    let id = RequestId {
        buyer: PeerId(2),
        seq: 1,
    };
    let reply = BuyReply {
        id,
        product: Product::Fish,
        requested: 1,
        fills: vec![fill; 3],
    };
    assert_eq!(reply.filled(), u32::MAX);
    assert_eq!(reply.paid(), Money(u64::MAX));
}
