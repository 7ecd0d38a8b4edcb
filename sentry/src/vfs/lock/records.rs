//! The record locks of one file: byte ranges held by owners, split and merged the way
//! Linux's `posix_lock_inode` leaves them.
//!
//! Invariants, for every owner: its locks do not overlap, and two of the same kind are
//! never adjacent (they are merged). The list keeps each owner's locks together,
//! sorted by start, and owners in the order they first locked — the order in which
//! F_GETLK finds "the first" conflicting lock, as Linux's list does.

use super::{Kind, Owner};

/// The last byte a lock can cover: a lock "to end of file" ends here (`OFFSET_MAX`).
pub const OFFSET_MAX: i64 = i64::MAX;

/// A byte range `[start, end]`, both inclusive; `end` is [`OFFSET_MAX`] for a range
/// that runs to the end of the file however large it grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// First byte.
    pub start: i64,
    /// Last byte.
    pub end: i64,
}

impl Range {
    /// The range a `struct flock` describes: `l_start` bytes from `base` (0, the file
    /// offset, or the file size, per `l_whence`), `l_len` bytes on (0: to the end of
    /// the file; negative: the `-l_len` bytes before the start). As Linux checks it:
    /// EOVERFLOW when the range would pass [`OFFSET_MAX`], EINVAL when it would start
    /// before byte 0.
    pub fn from_flock(base: i64, l_start: i64, l_len: i64) -> crate::errno::Result<Range> {
        if l_start > OFFSET_MAX - base {
            return Err(crate::errno!(EOVERFLOW));
        }
        let start = base + l_start;
        if start < 0 {
            return Err(crate::errno!(EINVAL));
        }
        if l_len > 0 {
            if l_len - 1 > OFFSET_MAX - start {
                return Err(crate::errno!(EOVERFLOW));
            }
            Ok(Range {
                start,
                end: start + (l_len - 1),
            })
        } else if l_len < 0 {
            // start >= 0 and l_len >= i64::MIN, so the sum cannot overflow.
            if start + l_len < 0 {
                return Err(crate::errno!(EINVAL));
            }
            Ok(Range {
                start: start + l_len,
                end: start - 1,
            })
        } else {
            Ok(Range {
                start,
                end: OFFSET_MAX,
            })
        }
    }

    /// `l_len` as F_GETLK reports it: 0 for a range to the end of the file.
    pub fn flock_len(&self) -> i64 {
        if self.end == OFFSET_MAX {
            0
        } else {
            self.end - self.start + 1
        }
    }

    fn overlaps(&self, other: &Range) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

/// One held record lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordLock {
    /// Who holds it.
    pub owner: Owner,
    /// The process that took it (F_GETLK's `l_pid` for a classic POSIX lock).
    pub pid: i32,
    /// Read or write.
    pub kind: Kind,
    /// The bytes it covers.
    pub range: Range,
}

impl RecordLock {
    /// Whether this held lock stops `owner` from taking `kind` over `range`.
    fn blocks(&self, owner: Owner, kind: Kind, range: &Range) -> bool {
        self.owner != owner
            && self.range.overlaps(range)
            && (self.kind == Kind::Write || kind == Kind::Write)
    }
}

/// The record locks on one file.
#[derive(Default, Debug)]
pub struct RecordLocks {
    locks: Vec<RecordLock>,
}

impl RecordLocks {
    /// Whether no lock is held.
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }

    /// The first lock of another owner that conflicts with `kind` over `range`.
    pub fn conflict(&self, owner: Owner, kind: Kind, range: &Range) -> Option<&RecordLock> {
        self.locks.iter().find(|l| l.blocks(owner, kind, range))
    }

    /// The first of `owner`'s own locks over part of `range` (F_OFD_GETLK with F_UNLCK).
    pub fn own(&self, owner: Owner, range: &Range) -> Option<&RecordLock> {
        self.locks
            .iter()
            .find(|l| l.owner == owner && l.range.overlaps(range))
    }

    /// Makes `owner`'s locks over `range` be `kind` (None: unlocked there), splitting
    /// and merging its other locks. Returns whether a lock was removed or weakened
    /// anywhere (so tasks waiting on this file should look again). Conflicts with
    /// other owners are the caller's to check first.
    pub fn set(&mut self, owner: Owner, pid: i32, kind: Option<Kind>, range: Range) -> bool {
        let at = self.locks.iter().position(|l| l.owner == owner);
        let mut mine: Vec<RecordLock> = Vec::new();
        let mut others: Vec<RecordLock> = Vec::with_capacity(self.locks.len());
        for l in self.locks.drain(..) {
            if l.owner == owner {
                mine.push(l);
            } else {
                others.push(l);
            }
        }
        let mut weakened = false;
        let mut kept: Vec<RecordLock> = Vec::with_capacity(mine.len() + 2);
        for l in mine {
            if !l.range.overlaps(&range) {
                kept.push(l);
                continue;
            }
            weakened |= match kind {
                None => true,
                Some(k) => l.kind == Kind::Write && k == Kind::Read,
            };
            if l.range.start < range.start {
                kept.push(RecordLock {
                    range: Range {
                        start: l.range.start,
                        end: range.start - 1,
                    },
                    ..l
                });
            }
            if l.range.end > range.end {
                kept.push(RecordLock {
                    range: Range {
                        start: range.end + 1,
                        end: l.range.end,
                    },
                    ..l
                });
            }
        }
        if let Some(kind) = kind {
            kept.push(RecordLock {
                owner,
                pid,
                kind,
                range,
            });
        }
        kept.sort_by_key(|l| l.range.start);
        let mut merged: Vec<RecordLock> = Vec::with_capacity(kept.len());
        for l in kept {
            match merged.last_mut() {
                // Adjacent or overlapping locks of one kind become one ("start - 1"
                // rather than "end + 1": an end of OFFSET_MAX has no successor). The
                // old locks were neither, so every merge takes in the new lock, whose
                // process the result records.
                Some(prev) if prev.kind == l.kind && l.range.start - 1 <= prev.range.end => {
                    prev.range.end = prev.range.end.max(l.range.end);
                    prev.pid = pid;
                }
                _ => merged.push(l),
            }
        }
        // The owner's locks go back where its first one was (at the end if it had none).
        let at = at.map_or(others.len(), |i| i.min(others.len()));
        others.splice(at..at, merged);
        self.locks = others;
        weakened
    }

    /// Removes every lock of `owner`; returns whether there was one.
    pub fn remove_owner(&mut self, owner: Owner) -> bool {
        let before = self.locks.len();
        self.locks.retain(|l| l.owner != owner);
        self.locks.len() != before
    }

    /// All locks, in list order.
    pub fn iter(&self) -> impl Iterator<Item = &RecordLock> {
        self.locks.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Owner = Owner::Files(1);
    const B: Owner = Owner::Files(2);

    fn r(start: i64, end: i64) -> Range {
        Range { start, end }
    }

    fn held(locks: &RecordLocks, owner: Owner) -> Vec<(Kind, i64, i64)> {
        locks
            .iter()
            .filter(|l| l.owner == owner)
            .map(|l| (l.kind, l.range.start, l.range.end))
            .collect()
    }

    #[test]
    fn flock_ranges_follow_whence_and_sign_of_len() {
        assert_eq!(Range::from_flock(0, 10, 5), Ok(r(10, 14)));
        assert_eq!(Range::from_flock(200, -10, 5), Ok(r(190, 194)));
        assert_eq!(Range::from_flock(0, 100, -50), Ok(r(50, 99)));
        assert_eq!(Range::from_flock(0, 7, 0), Ok(r(7, OFFSET_MAX)));
        assert_eq!(
            Range::from_flock(0, OFFSET_MAX, 1),
            Ok(r(OFFSET_MAX, OFFSET_MAX))
        );
    }

    #[test]
    fn bad_flock_ranges_are_eoverflow_or_einval() {
        let code = |r: crate::errno::Result<Range>| r.unwrap_err().code();
        assert_eq!(code(Range::from_flock(0, OFFSET_MAX, 2)), libc::EOVERFLOW);
        assert_eq!(code(Range::from_flock(200, OFFSET_MAX, 1)), libc::EOVERFLOW);
        assert_eq!(code(Range::from_flock(0, -1, 1)), libc::EINVAL);
        assert_eq!(code(Range::from_flock(0, 10, -20)), libc::EINVAL);
        assert_eq!(code(Range::from_flock(5, 0, i64::MIN)), libc::EINVAL);
    }

    #[test]
    fn unlocking_the_middle_splits_a_lock() {
        let mut l = RecordLocks::default();
        l.set(A, 1, Some(Kind::Write), r(0, 99));
        assert!(l.set(A, 1, None, r(40, 59)));
        assert_eq!(held(&l, A), [(Kind::Write, 0, 39), (Kind::Write, 60, 99)]);
    }

    #[test]
    fn adjacent_locks_of_one_kind_merge() {
        let mut l = RecordLocks::default();
        l.set(A, 1, Some(Kind::Write), r(0, 39));
        l.set(A, 1, Some(Kind::Write), r(60, 99));
        assert!(!l.set(A, 1, Some(Kind::Write), r(40, 59)));
        assert_eq!(held(&l, A), [(Kind::Write, 0, 99)]);
    }

    #[test]
    fn a_lock_of_another_kind_inside_splits_in_three() {
        let mut l = RecordLocks::default();
        l.set(A, 1, Some(Kind::Read), r(0, 29));
        assert!(!l.set(A, 1, Some(Kind::Write), r(10, 19)));
        assert_eq!(
            held(&l, A),
            [
                (Kind::Read, 0, 9),
                (Kind::Write, 10, 19),
                (Kind::Read, 20, 29)
            ]
        );
        assert!(l.set(A, 1, Some(Kind::Read), r(10, 19)));
        assert_eq!(held(&l, A), [(Kind::Read, 0, 29)]);
    }

    #[test]
    fn locks_to_end_of_file_merge_without_overflow() {
        let mut l = RecordLocks::default();
        l.set(A, 1, Some(Kind::Write), r(OFFSET_MAX, OFFSET_MAX));
        l.set(A, 1, Some(Kind::Write), r(10, OFFSET_MAX));
        assert_eq!(held(&l, A), [(Kind::Write, 10, OFFSET_MAX)]);
        l.set(A, 1, None, r(0, OFFSET_MAX));
        assert!(l.is_empty());
    }

    #[test]
    fn conflicts_need_another_owner_an_overlap_and_a_writer() {
        let mut l = RecordLocks::default();
        l.set(A, 1, Some(Kind::Read), r(0, 9));
        l.set(B, 2, Some(Kind::Write), r(20, 29));
        assert!(l.conflict(A, Kind::Write, &r(0, 9)).is_none());
        assert!(l.conflict(B, Kind::Read, &r(0, 9)).is_none());
        assert_eq!(
            l.conflict(B, Kind::Write, &r(5, 5)).map(|c| c.owner),
            Some(A)
        );
        assert_eq!(
            l.conflict(A, Kind::Read, &r(0, 99)).map(|c| c.owner),
            Some(B)
        );
        assert!(l.conflict(A, Kind::Read, &r(10, 19)).is_none());
    }

    #[test]
    fn each_owners_locks_stay_together_in_first_locked_order() {
        let mut l = RecordLocks::default();
        l.set(A, 1, Some(Kind::Read), r(50, 59));
        l.set(B, 2, Some(Kind::Read), r(0, 9));
        l.set(A, 1, Some(Kind::Read), r(0, 9));
        let order: Vec<(Owner, i64)> = l.iter().map(|x| (x.owner, x.range.start)).collect();
        assert_eq!(order, [(A, 0), (A, 50), (B, 0)]);
        assert!(l.remove_owner(A));
        assert!(!l.remove_owner(A));
        assert_eq!(held(&l, B), [(Kind::Read, 0, 9)]);
    }
}
