//! Two sessions over `replica::Host` and real case stores, in one thread, every message through
//! the wire codec: what crosses when histories diverged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::NaiveDate;
use yikou_node::fixtures::CaseFactory;
use yikou_node::replica::{Access, Host, ScopePolicy};
use yikou_node::store::{CaseStore, MemKv, StoreConfig};
use yikou_schema::calendar::WorkCalendar;
use yikou_sync::session::{Limits, Output, Session, SessionConfig};
use yikou_sync::wire::{self, Cursor, Message};

struct Side {
    name: &'static str,
    store: Arc<CaseStore>,
    access: Access,
}

fn side(name: &'static str, access: Access) -> Side {
    let store = CaseStore::open(
        Arc::new(MemKv::new()),
        name.as_bytes().to_vec(),
        StoreConfig::default(),
        WorkCalendar::builtin(),
    )
    .unwrap();
    Side { name, store: Arc::new(store), access }
}

fn session(me: &Side, peer: &Side) -> (Session, Host) {
    let s = &me.store;
    let cfg = SessionConfig {
        node: me.name.into(),
        peer: peer.name.into(),
        epoch: s.epoch(),
        feed_seq: s.last_seq().unwrap(),
        docs: s.doc_count().unwrap(),
        checkpoint: s.checkpoint(peer.name).unwrap().map(|c| Cursor { epoch: c.epoch, seq: c.seq }),
        limits: Limits::default(),
    };
    let policy = ScopePolicy { me: me.access.clone(), peer: peer.access.clone() };
    (Session::new(cfg, Box::new(policy.clone())), Host::new(me.store.clone(), policy, 1))
}

/// Runs a session pair to quiescence; returns every `Data` document as (whole, bytes).
fn sync(a: &Side, b: &Side) -> Vec<(bool, usize)> {
    let (mut sa, ha) = session(a, b);
    let (mut sb, hb) = session(b, a);
    let mut data = Vec::new();
    loop {
        let mut progress = false;
        for side in 0..2 {
            let (s, h) = if side == 0 { (&mut sa, &ha) } else { (&mut sb, &hb) };
            let mut sent = Vec::new();
            while let Some(o) = s.poll() {
                progress = true;
                match o {
                    Output::Send(m) => sent.push(m),
                    Output::Storage(r) => {
                        if let Some(reply) = h.serve(r).unwrap() {
                            s.handle_reply(reply);
                        }
                        s.local_changed(h.store().last_seq().unwrap());
                    }
                    Output::Close(r) => panic!("closed: {r:?}"),
                    Output::Event(_) => {}
                }
            }
            let other = if side == 0 { &mut sb } else { &mut sa };
            for m in sent {
                if let Message::Data(d) = &m {
                    data.extend(d.docs.iter().map(|x| (x.whole, x.bytes.len())));
                }
                let mut dec = wire::Decoder::default();
                dec.push(&wire::encode(&m).unwrap());
                let m = dec.next_message().unwrap().unwrap();
                other.handle_message(m);
            }
        }
        if !progress {
            assert!(sa.caught_up() && sb.caught_up());
            return data;
        }
    }
}

#[test]
fn concurrent_work_on_one_case_crosses_as_changes_not_as_whole_documents() {
    let hall = side("hall", Access::hall("410184000"));
    let town = side("town-a", Access::township("410184001"));
    let f = CaseFactory::new("town-a", 1).unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let cases: Vec<_> = (1..4).map(|i| f.case(day, i).unwrap()).collect();
    for c in &cases {
        town.store.create(c).unwrap();
    }
    let first = sync(&hall, &town);
    assert!(first.iter().all(|(whole, _)| *whole), "bootstrap sends whole documents");
    let whole_size = first[0].1;

    // Both sides work on the same case while apart: the histories diverge.
    let id = cases[0].header.number.to_string();
    let case = town.store.case(&id).unwrap();
    town.store.append(&id, &[f.next_event(&case)]).unwrap();
    let mut at_hall = f.next_event(&case);
    at_hall.hlc.node = yikou_schema::codes::NodeName::new("hall");
    at_hall.actor.node = yikou_schema::codes::NodeName::new("hall");
    at_hall.hlc.wall_ms += 7;
    hall.store.append(&id, &[at_hall]).unwrap();

    let second = sync(&hall, &town);
    assert_eq!(hall.store.heads(&id).unwrap(), town.store.heads(&id).unwrap());
    assert_eq!(hall.store.case(&id).unwrap().events.len(), case.events.len() + 2);
    assert_eq!(second.len(), 2, "one delta each way: {second:?}");
    for (whole, bytes) in second {
        assert!(!whole && bytes * 3 < whole_size, "a delta of {bytes} B against a {whole_size} B document");
    }
}

#[test]
fn a_hall_takes_back_its_own_reference_changes_from_a_township_but_no_township_edits() {
    use yikou_node::doc::RefKind;
    use yikou_schema::tolerance::DishonestyList;
    let hall = side("hall", Access::hall("410184000"));
    let town = side("town-a", Access::township("410184001"));
    hall.store.put_reference(RefKind::Dishonesty, &DishonestyList { version: 1, entries: vec![] }).unwrap();
    let id = CaseStore::reference_id(RefKind::Dishonesty);
    let v1 = hall.store.document_bytes(&id).unwrap();
    hall.store.put_reference(RefKind::Dishonesty, &DishonestyList { version: 2, entries: vec![] }).unwrap();
    sync(&hall, &town);
    assert_eq!(town.store.heads(&id).unwrap(), hall.store.heads(&id).unwrap());

    // The hall is restored from a backup taken before version 2: a new store, same node name.
    let restored = side("hall", Access::hall("410184000"));
    restored.store.apply_remote(&id, &v1).unwrap();
    assert_ne!(restored.store.heads(&id).unwrap(), town.store.heads(&id).unwrap());
    sync(&restored, &town);
    assert_eq!(
        restored.store.heads(&id).unwrap(),
        town.store.heads(&id).unwrap(),
        "its own change came back"
    );
    let list: DishonestyList = restored.store.reference(RefKind::Dishonesty).unwrap().unwrap();
    assert_eq!(list.version, 2);

    // A township's own edit of reference data is not taken.
    town.store.put_reference(RefKind::Dishonesty, &DishonestyList { version: 99, entries: vec![] }).unwrap();
    sync(&restored, &town);
    let list: DishonestyList = restored.store.reference(RefKind::Dishonesty).unwrap().unwrap();
    assert_eq!(list.version, 2);
    assert_ne!(restored.store.heads(&id).unwrap(), town.store.heads(&id).unwrap());
}
