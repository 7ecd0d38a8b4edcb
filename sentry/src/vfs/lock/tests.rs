use std::sync::Arc;

use super::*;
use crate::vfs::{FileOps, Stat};

/// A file without a path: opens of it share the ops object, so they are one file.
struct Plain;

impl FileOps for Plain {
    fn stat(&self) -> Result<Stat> {
        Ok(Stat::default())
    }
}

fn new_file() -> Arc<dyn FileOps> {
    Arc::new(Plain)
}

fn open(file: &Arc<dyn FileOps>) -> Arc<File> {
    File::new(file.clone(), libc::O_RDWR as u32, None)
}

fn all() -> Range {
    Range {
        start: 0,
        end: OFFSET_MAX,
    }
}

fn byte(n: i64) -> Range {
    Range { start: n, end: n }
}

fn code(r: Result<()>) -> i32 {
    r.err().map_or(0, |e| e.code())
}

fn has_entry(f: &Arc<File>) -> bool {
    let key = key_of(f);
    TABLE.lock().files.contains_key(&key)
}

#[test]
fn flock_conflicts_between_descriptions_not_within_one() {
    let file = new_file();
    let (a, b) = (open(&file), open(&file));
    assert_eq!(code(flock(&a, Some(Kind::Write), false)), 0);
    assert_eq!(code(flock(&a, Some(Kind::Write), false)), 0);
    assert_eq!(code(flock(&b, Some(Kind::Read), false)), libc::EAGAIN);
    assert_eq!(code(flock(&a, None, false)), 0);
    assert_eq!(code(flock(&b, Some(Kind::Read), false)), 0);
    assert_eq!(code(flock(&a, Some(Kind::Read), false)), 0);
    flock(&a, None, false).unwrap();
    flock(&b, None, false).unwrap();
    assert!(!has_entry(&a));
}

#[test]
fn failed_flock_conversion_loses_the_old_lock() {
    let file = new_file();
    let (a, b, c) = (open(&file), open(&file), open(&file));
    flock(&a, Some(Kind::Read), false).unwrap();
    flock(&b, Some(Kind::Read), false).unwrap();
    assert_eq!(code(flock(&b, Some(Kind::Write), false)), libc::EAGAIN);
    flock(&a, None, false).unwrap();
    assert_eq!(code(flock(&c, Some(Kind::Write), false)), 0);
}

#[test]
fn dropping_a_description_releases_its_flock_and_ofd_locks() {
    let file = new_file();
    let (a, b) = (open(&file), open(&file));
    flock(&a, Some(Kind::Write), false).unwrap();
    set_record(&a, a.lock_owner(), 1, Some(Kind::Write), all(), false).unwrap();
    drop(a);
    assert_eq!(code(flock(&b, Some(Kind::Write), false)), 0);
    assert_eq!(
        test_record(&b, Owner::Files(new_id()), Some(Kind::Write), all()),
        None
    );
    drop(b);
    let c = open(&file);
    assert!(!has_entry(&c));
}

#[test]
fn ofd_locks_conflict_with_posix_locks_of_the_same_process() {
    let file = new_file();
    let (a, b) = (open(&file), open(&file));
    let process = Owner::Files(new_id());
    set_record(&a, a.lock_owner(), 7, Some(Kind::Write), byte(5), false).unwrap();
    let busy = set_record(&b, process, 7, Some(Kind::Read), all(), false);
    assert_eq!(code(busy), libc::EAGAIN);
    let found = test_record(&b, process, Some(Kind::Read), all()).expect("a conflict");
    assert_eq!(
        (found.kind, found.range, found.pid),
        (Kind::Write, byte(5), -1)
    );
    assert_eq!(
        test_record(&a, a.lock_owner(), Some(Kind::Write), all()),
        None
    );
    let own = test_record(&a, a.lock_owner(), None, all()).expect("its own lock");
    assert_eq!(own.range, byte(5));
}

#[test]
fn closing_releases_only_the_closing_tables_locks() {
    let file = new_file();
    let a = open(&file);
    let (p, q) = (Owner::Files(new_id()), Owner::Files(new_id()));
    set_record(&a, p, 1, Some(Kind::Read), byte(0), false).unwrap();
    set_record(&a, q, 2, Some(Kind::Read), byte(0), false).unwrap();
    release_posix(&a, p);
    let probe = Owner::Files(new_id());
    let found = test_record(&a, probe, Some(Kind::Write), all()).expect("q's lock");
    assert_eq!(found.pid, 2);
    release_owner(q);
    assert_eq!(test_record(&a, probe, Some(Kind::Write), all()), None);
    assert!(!has_entry(&a));
}

#[test]
fn waiting_in_a_cycle_of_owners_is_edeadlk() {
    let file = new_file();
    let (fa, fb) = (open(&file), open(&file));
    let (a, b) = (Owner::Files(new_id()), Owner::Files(new_id()));
    set_record(&fa, a, 1, Some(Kind::Write), byte(0), false).unwrap();
    set_record(&fb, b, 2, Some(Kind::Write), byte(1), false).unwrap();
    let waiter = {
        let fa = fa.clone();
        std::thread::spawn(move || set_record(&fa, a, 1, Some(Kind::Write), byte(1), true))
    };
    // The condition (a's edge is recorded), not a time, is what the test waits for.
    while !TABLE.lock().blocked.iter().any(|e| e.waiter == a) {
        std::thread::yield_now();
    }
    let closing = set_record(&fb, b, 2, Some(Kind::Write), byte(0), true);
    assert_eq!(code(closing), libc::EDEADLK);
    release_owner(b);
    assert_eq!(code(waiter.join().expect("the waiter thread")), 0);
    // a's two bytes merged into one lock.
    let found = test_record(&fb, b, Some(Kind::Write), all()).expect("a's locks");
    assert_eq!(found.range, Range { start: 0, end: 1 });
    release_owner(a);
    assert!(!has_entry(&fa));
}

#[test]
fn a_blocked_flock_is_granted_when_the_holder_unlocks() {
    let file = new_file();
    let (a, b) = (open(&file), open(&file));
    flock(&a, Some(Kind::Read), false).unwrap();
    let waiter = {
        let b = b.clone();
        std::thread::spawn(move || flock(&b, Some(Kind::Write), true))
    };
    while TABLE
        .lock()
        .files
        .get(&key_of(&a))
        .map_or(0, |e| e.sleepers)
        == 0
    {
        std::thread::yield_now();
    }
    flock(&a, None, false).unwrap();
    assert_eq!(code(waiter.join().expect("the waiter thread")), 0);
    assert_eq!(code(flock(&a, Some(Kind::Read), false)), libc::EAGAIN);
}
