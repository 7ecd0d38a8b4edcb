//! Where connect(2) and sendto(2) find a unix socket by name: the sandbox's abstract
//! namespace, and the sockets bound to filesystem nodes (found by the node's device
//! and inode number, which stay the same across renames and hard links, as Linux
//! finds them through the inode).

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::endpoint::Endpoint;
use crate::errno;
use crate::errno::Result;

/// A name a socket holds until it closes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Binding {
    /// An abstract name.
    Abstract(Vec<u8>),
    /// A socket node in a filesystem: (device, inode).
    Node(u64, u64),
}

/// The unix socket names of one sandbox.
///
/// Lock order: an endpoint's state lock may be held while the names are locked (a
/// bind records its name), never the other way round.
#[derive(Default)]
pub struct Names {
    bound: Mutex<HashMap<Binding, Weak<Endpoint>>>,
    next_auto: Mutex<u32>,
}

impl Names {
    /// A new, empty namespace.
    pub fn new() -> Arc<Names> {
        Arc::new(Names::default())
    }

    /// Records that `ep` holds `name`: EADDRINUSE if a live socket already does.
    pub(super) fn bind(&self, name: Binding, ep: &Arc<Endpoint>) -> Result<()> {
        let mut bound = self.bound.lock();
        if bound
            .get(&name)
            .and_then(Weak::upgrade)
            .is_some_and(|e| !e.is_closed())
        {
            return Err(errno!(EADDRINUSE));
        }
        bound.insert(name, Arc::downgrade(ep));
        Ok(())
    }

    /// Picks a free abstract name of five hex digits and binds `ep` to it (autobind).
    pub(super) fn autobind(&self, ep: &Arc<Endpoint>) -> Result<Vec<u8>> {
        for _ in 0..0x100000 {
            let n = {
                let mut next = self.next_auto.lock();
                *next = (*next + 1) & 0xfffff;
                *next
            };
            let name = format!("{n:05x}").into_bytes();
            if self.bind(Binding::Abstract(name.clone()), ep).is_ok() {
                return Ok(name);
            }
        }
        Err(errno!(ENOSPC))
    }

    /// Forgets `name` if `ep` still holds it.
    pub(super) fn unbind(&self, name: &Binding, ep: &Endpoint) {
        let mut bound = self.bound.lock();
        if bound
            .get(name)
            .is_some_and(|w| std::ptr::eq(w.as_ptr(), ep) || w.strong_count() == 0)
        {
            bound.remove(name);
        }
    }

    /// The live socket holding `name`.
    pub(super) fn find(&self, name: &Binding) -> Option<Arc<Endpoint>> {
        self.bound
            .lock()
            .get(name)
            .and_then(Weak::upgrade)
            .filter(|e| !e.is_closed())
    }
}
