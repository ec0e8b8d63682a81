//! The user table agrees with a plain HashMap model under any sequence of operations.

use std::collections::HashMap;
use std::net::SocketAddr;

use minichat_core::error::TableError;
use minichat_core::name_policy::key;
use minichat_core::storage::Storage;
use minichat_core::table::{ArrayTable, IndexEntry, Slot, SlotId, UserTable};
use minichat_core::time::{Duration, Instant};
use minichat_core::wire::{Name, Token};
use minichat_tests::seeded;
use proptest::prelude::*;

const CAPACITY: usize = 6;
// Case variants and look-alikes (Cyrillic а, capital I for l, digit 0 for o) of each other.
const NAMES: [&str; 12] =
    ["ann", "ANN", "Bob", "bob", "cy", "dee", "émile", "ÉMILE", "аnn", "lo", "Io", "l0"];

#[derive(Debug, Clone)]
enum Op {
    Insert { addr: u8, token: u8, name: usize, at: u16 },
    Remove { addr: u8 },
    Move { token: u8, addr: u8 },
    Touch { addr: u8, at: u16 },
    Expire { at: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..10u8, 1..12u8, 0..NAMES.len(), any::<u16>()).prop_map(|(addr, token, name, at)| Op::Insert { addr, token, name, at }),
        2 => (0..10u8).prop_map(|addr| Op::Remove { addr }),
        1 => (1..12u8, 0..10u8).prop_map(|(token, addr)| Op::Move { token, addr }),
        1 => (0..10u8, any::<u16>()).prop_map(|(addr, at)| Op::Touch { addr, at }),
        1 => any::<u16>().prop_map(|at| Op::Expire { at }),
    ]
}

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 168, 0, n], 4000))
}

#[derive(Debug, Clone)]
struct ModelUser {
    addr: SocketAddr,
    token: Token,
    name: String,
    last_heard: u64,
}

const IDLE: Duration = Duration::from_millis(10_000);

proptest! {
    #![proptest_config(seeded(2048))]

    #[test]
    fn a_scanned_table_agrees_with_a_hashmap(ops in proptest::collection::vec(op(), 1..60)) {
        let table = ArrayTable::<(), 8, SocketAddr, 0>::new(CAPACITY, || [9; 16]);
        prop_assert!(!table.indexed());
        agrees_with_a_hashmap(table, ops)?;
    }

    /// With index entries the table finds users through its hash indexes; 8 buckets for 6
    /// users, so chains of several users are common.
    #[test]
    fn an_indexed_table_agrees_with_a_hashmap(ops in proptest::collection::vec(op(), 1..60)) {
        let table = ArrayTable::<(), 8>::new(CAPACITY, || [9; 16]);
        prop_assert!(table.indexed());
        agrees_with_a_hashmap(table, ops)?;
    }

}

proptest! {
    // The same code as the indexed table above, over other memory: fewer cases.
    #![proptest_config(seeded(256))]

    /// The same in memory allocated at run time, as the host gives it.
    #[test]
    fn a_table_in_boxed_slices_agrees_with_a_hashmap(ops in proptest::collection::vec(op(), 1..60)) {
        let slots: Box<[Slot<(), SocketAddr>]> = vec![None; 7].into_boxed_slice();
        let index = vec![IndexEntry::EMPTY; 7].into_boxed_slice();
        agrees_with_a_hashmap(UserTable::with_storage(slots, index, CAPACITY, || [9; 16]), ops)?;
    }
}

fn agrees_with_a_hashmap<U: Storage<Slot<(), SocketAddr>>, I: Storage<IndexEntry>>(
    mut table: UserTable<(), SocketAddr, U, I>,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    {
        let mut model: HashMap<SlotId, ModelUser> = HashMap::new();
        for op in ops {
            match op {
                Op::Insert { addr: a, token, name, at } => {
                    let (addr, token, name) = (addr(a), Token(u64::from(token)), NAMES[name]);
                    let result = table.insert(
                        addr,
                        token,
                        Name::new(name).unwrap(),
                        Instant::from_millis(at.into()),
                        (),
                    );
                    let name_taken = model.values().any(|u| key(&u.name) == key(name));
                    let addr_taken = model.values().any(|u| u.addr == addr);
                    let token_taken = model.values().any(|u| u.token == token);
                    match result {
                        Ok(slot) => {
                            prop_assert!(
                                !name_taken
                                    && !addr_taken
                                    && !token_taken
                                    && model.len() < CAPACITY
                            );
                            prop_assert!(!model.contains_key(&slot));
                            model.insert(
                                slot,
                                ModelUser { addr, token, name: name.into(), last_heard: at.into() },
                            );
                        }
                        Err((TableError::NameTaken, ())) => prop_assert!(name_taken),
                        Err((TableError::AddressTaken, ())) => {
                            prop_assert!(!name_taken && addr_taken)
                        }
                        Err((TableError::TokenTaken, ())) => {
                            prop_assert!(!name_taken && !addr_taken && token_taken)
                        }
                        Err((TableError::Full { capacity }, ())) => {
                            prop_assert_eq!(capacity, CAPACITY);
                            prop_assert!(
                                !name_taken
                                    && !addr_taken
                                    && !token_taken
                                    && model.len() == CAPACITY
                            );
                        }
                        Err((other, ())) => prop_assert!(false, "unexpected {other:?}"),
                    }
                }
                Op::Remove { addr: a } => {
                    let slot = table.by_addr(addr(a));
                    let expected = model.iter().find(|(_, u)| u.addr == addr(a)).map(|(s, _)| *s);
                    prop_assert_eq!(slot, expected);
                    if let Some(slot) = slot {
                        prop_assert!(table.remove(slot).is_some());
                        model.remove(&slot);
                    }
                }
                Op::Move { token, addr: a } => {
                    if let Some(slot) = table.by_token(Token(u64::from(token))) {
                        let taken = model.iter().any(|(s, u)| u.addr == addr(a) && *s != slot);
                        let result = table.move_to(slot, addr(a));
                        prop_assert_eq!(result.is_err(), taken);
                        if !taken {
                            model.get_mut(&slot).unwrap().addr = addr(a);
                        }
                    }
                }
                Op::Touch { addr: a, at } => {
                    if let Some(slot) = table.by_addr(addr(a)) {
                        table.touch(slot, Instant::from_millis(at.into()));
                        let user = model.get_mut(&slot).unwrap();
                        user.last_heard = user.last_heard.max(at.into());
                    }
                }
                Op::Expire { at } => {
                    let now = Instant::from_millis(at.into());
                    while let Some(slot) = table.first_expired(now, IDLE) {
                        let user = model.remove(&slot).unwrap();
                        prop_assert!(u64::from(at) >= user.last_heard + IDLE.as_millis());
                        table.remove(slot);
                    }
                    prop_assert!(
                        model.values().all(|u| u64::from(at) < u.last_heard + IDLE.as_millis())
                    );
                }
            }
            // After every operation, every lookup agrees.
            prop_assert_eq!(table.len(), model.len());
            for (slot, user) in &model {
                prop_assert_eq!(table.by_addr(user.addr), Some(*slot));
                let shouted = user.name.to_uppercase();
                prop_assert_eq!(table.by_name(Name::new(&shouted).unwrap()), Some(*slot));
                prop_assert_eq!(
                    table.get(*slot).map(|u| (u.addr, u.name.as_str().to_string())),
                    Some((user.addr, user.name.clone()))
                );
            }
            for name in NAMES {
                let expected =
                    model.iter().find(|(_, u)| key(&u.name) == key(name)).map(|(s, _)| *s);
                prop_assert_eq!(table.by_name(Name::new(name).unwrap()), expected);
            }
            for token in 0..13u64 {
                let expected = model
                    .iter()
                    .find(|(_, u)| u.token == Token(token) && token != 0)
                    .map(|(s, _)| *s);
                prop_assert_eq!(table.by_token(Token(token)), expected);
            }
        }
    }
    Ok(())
}
