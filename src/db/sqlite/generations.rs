//! Which cookie sessions changed, as every process on the same database file sees it at once.
//!
//! The reader keeps the sessions it has read (`reader.rs`), so that a browser's requests do not
//! each pay a read of SQLite. A kept session must still be dead on the very next request after a
//! kill, a sign-out or a role change, in this server and in every other process on the same
//! file. So every write to the `sessions` table bumps a counter here, after it has committed,
//! and a kept session is used only while the counters it was read under are unchanged.
//!
//! The counters live in a small file beside the database (`<database>-sessions`), mapped
//! into the memory of every process that opens it, as SQLite shares its WAL index in `-shm`:
//! reading one is an atomic load, with no system call and no lock. Slot 0 counts changes that
//! may touch any session (a user's sessions ended, a role rewritten, the sweeper); each other
//! slot counts the changes to the sessions whose ID hash falls in it.
//!
//! What it cannot see: a write to the file by anything but ticketbooth (the `sqlite3` shell, a
//! restored backup) bumps nothing, and neither does a server killed between a write's commit and
//! its mark. The reader trusts a kept session for at most a minute for that reason
//! (`reader.rs`). Deleting this file while servers run would part them the same way, and
//! truncating it would crash them (the mapping would point past its end): leave it alone.
//! A server that cannot map it does not start.

use std::{
    fs::OpenOptions,
    io,
    os::fd::AsRawFd,
    path::{Path, PathBuf},
    ptr::NonNull,
    sync::atomic::{AtomicU64, Ordering},
};

/// One page of counters.
const SLOTS: usize = 512;
/// The slot of changes that may touch any session.
const EVERY_SESSION: usize = 0;
const BYTES: usize = SLOTS * size_of::<AtomicU64>();

/// The counters that a session was read under: it is unchanged while both are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Stamp {
    every_session: u64,
    this_slot: u64,
}

/// What a write to the `sessions` table may have changed.
#[derive(Clone, Debug)]
pub(super) enum Changed {
    /// The session whose ID hashes to this.
    One(Vec<u8>),
    /// Any session: a user's, or every expired one.
    Any,
}

/// The shared counters of one database file.
pub(super) struct Generations {
    /// `SLOTS` counters in a `MAP_SHARED` mapping of the file, valid until `drop`.
    slots: NonNull<AtomicU64>,
    file: PathBuf,
}

// SAFETY: the mapping is only ever accessed through atomics, from any thread.
unsafe impl Send for Generations {}
unsafe impl Sync for Generations {}

impl std::fmt::Debug for Generations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generations")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// The counters' file of the database file `database`.
fn file_beside(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-sessions");
    PathBuf::from(name)
}

impl Generations {
    /// Maps the counters of `database`, creating their file (all zeros) if it is missing; an
    /// error names the file.
    pub(super) fn open(database: &Path) -> io::Result<Self> {
        let path = file_beside(database);
        Self::map(&path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("the sessions' change counters, {}: {error}", path.display()),
            )
        })
    }

    fn map(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        // Grown, never shrunk: another process may have mapped it already.
        if file.metadata()?.len() < BYTES as u64 {
            file.set_len(BYTES as u64)?;
        }
        // SAFETY: a fresh shared mapping of the file's first page, which exists (above); nothing
        // of ours truncates the file, and the mapping outlives the descriptor by design.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let slots = NonNull::new(address.cast::<AtomicU64>())
            .ok_or_else(|| io::Error::other("mmap returned a null mapping"))?;
        Ok(Generations {
            slots,
            file: path.to_owned(),
        })
    }

    fn slots(&self) -> &[AtomicU64] {
        // SAFETY: `SLOTS` page-aligned u64s, mapped until drop; AtomicU64 has u64's layout.
        unsafe { std::slice::from_raw_parts(self.slots.as_ptr(), SLOTS) }
    }

    fn slot_of(id_hash: &[u8]) -> usize {
        // The hash is SHA-256 of a random ID: its first bytes are spread evenly.
        let low = usize::from(id_hash.first().copied().unwrap_or_default());
        let high = usize::from(id_hash.get(1).copied().unwrap_or_default());
        1 + (high << 8 | low) % (SLOTS - 1)
    }

    /// The counters a read of the session `id_hash` starting now is read under. Taken before
    /// the read: a change that commits after this moment bumps them afterwards.
    pub(super) fn stamp(&self, id_hash: &[u8]) -> Stamp {
        let slots = self.slots();
        Stamp {
            every_session: slots[EVERY_SESSION].load(Ordering::SeqCst),
            this_slot: slots[Self::slot_of(id_hash)].load(Ordering::SeqCst),
        }
    }

    /// Marks `changed`, after the write that changed it has committed.
    pub(super) fn bump(&self, changed: &Changed) {
        let slot = match changed {
            Changed::One(id_hash) => Self::slot_of(id_hash),
            Changed::Any => EVERY_SESSION,
        };
        self.slots()[slot].fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Generations {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, unmapped once.
        unsafe {
            libc::munmap(self.slots.as_ptr().cast(), BYTES);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_mappings_of_one_file_see_each_others_changes_and_only_where_they_fall() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("t.db");
        let (one, other) = (
            Generations::open(&database).unwrap(),
            Generations::open(&database).unwrap(),
        );
        let (a, b) = ([1_u8; 32], [2_u8; 32]);
        let (a_before, b_before) = (one.stamp(&a), one.stamp(&b));

        other.bump(&Changed::One(a.to_vec()));

        assert_ne!(
            one.stamp(&a),
            a_before,
            "the same slot, seen through another mapping"
        );
        assert_eq!(one.stamp(&b), b_before, "another slot is untouched");
        let b_now = one.stamp(&b);
        other.bump(&Changed::Any);
        assert_ne!(
            one.stamp(&b),
            b_now,
            "a change to any session reaches every slot"
        );
        assert!(dir.path().join("t.db-sessions").exists());
    }

    #[test]
    fn counters_that_cannot_be_mapped_are_an_error_naming_their_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file would be.
        std::fs::create_dir(dir.path().join("t.db-sessions")).unwrap();
        let error = Generations::open(&dir.path().join("t.db")).unwrap_err();
        assert!(error.to_string().contains("t.db-sessions"), "{error}");
    }

    #[test]
    fn the_counters_outlive_a_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("t.db");
        let before = Generations::open(&database).unwrap().stamp(&[7; 32]);
        Generations::open(&database)
            .unwrap()
            .bump(&Changed::One(vec![7; 32]));
        assert_ne!(
            Generations::open(&database).unwrap().stamp(&[7; 32]),
            before
        );
    }
}
