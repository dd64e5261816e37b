//! Passwords: argon2id hashing and verification, off the async runtime and bounded.
//!
//! One argon2id hash with OWASP's parameters takes 19 MiB and tens of milliseconds of CPU. Hashes
//! run on threads of their own, `concurrency` of them (a semaphore admits as many hashes), so a
//! flood of sign-ins cannot exhaust memory. At most `queue` more may wait; beyond that the caller
//! gets [`AppError::Busy`] at once. The hashing threads run at a lower scheduling priority
//! (nice 10 on Linux): when pages and sign-ins compete for the cores, pages go first and a flood
//! of sign-ins waits instead of slowing every page (`make bench-http` measures it).

use std::{
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
        mpsc,
    },
};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::{Semaphore, oneshot};
use unicode_normalization::UnicodeNormalization;

use crate::error::AppError;

/// Anything longer is refused before it is even counted: hashing cost must not depend on input
/// an attacker controls.
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A password in NFKC form (so the same characters typed on different keyboards match).
/// Its `Debug` never prints it.
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    /// A password as typed at sign-in: only the size guard applies, so that the rules for new
    /// passwords can change without locking anyone out.
    pub fn for_sign_in(raw: String) -> Result<Self, AppError> {
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(too_long());
        }
        Ok(Password(raw.nfkc().collect()))
    }

    /// A new password: 8 to 128 characters as typed (Unicode code points, before the NFKC
    /// form, which may join or split characters: the rule is the one the person and the API's
    /// schema can count), any Unicode.
    pub fn new_choice(raw: String) -> Result<Self, AppError> {
        let chars = raw.chars().count();
        let password = Self::for_sign_in(raw)?;
        if chars < MIN_PASSWORD_CHARS {
            return Err(AppError::invalid(
                "password",
                format!("Use at least {MIN_PASSWORD_CHARS} characters."),
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(too_long());
        }
        Ok(password)
    }
}

fn too_long() -> AppError {
    AppError::invalid(
        "password",
        format!("Use at most {MAX_PASSWORD_CHARS} characters."),
    )
}

/// Hashes and verifies passwords with a bound on concurrent work.
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    permits: Arc<Semaphore>,
    /// The hashing threads' queue of work; each thread leaves when it is dropped.
    threads: mpsc::Sender<Job>,
    concurrency: usize,
    queue_limit: usize,
    /// Callers running or waiting for a permit.
    admitted: AtomicUsize,
    /// Verified against when the username is unknown, so that the answer takes as long as for
    /// a real account. Made at start-up with the current parameters.
    dummy_hash: String,
    hashes_run: AtomicU64,
    running: AtomicUsize,
    peak_running: AtomicUsize,
}

/// argon2id, m = 19 MiB, t = 2, p = 1: OWASP's first recommendation.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

type Job = Box<dyn FnOnce() + Send>;

/// Starts `count` hashing threads at a lower priority, fed by the returned queue.
fn start_hashing_threads(count: usize) -> mpsc::Sender<Job> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for n in 0..count {
        let receiver = receiver.clone();
        std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || {
                lower_this_threads_priority();
                loop {
                    let job = match crate::core::sync::lock(&receiver).recv() {
                        Ok(job) => job,
                        Err(_) => return, // the Passwords are gone
                    };
                    job();
                }
            })
            .expect("a hashing thread starts");
    }
    sender
}

/// Nice 10 for the calling thread: the scheduler gives it about a tenth of a core's share when
/// a normal thread wants the same core.
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // SAFETY: setpriority only reads its three integer arguments; on Linux, PRIO_PROCESS with
    // id 0 names the calling thread.
    let failed = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) } != 0;
    if failed {
        tracing::warn!("could not lower the hashing thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

/// Gives back an admission when the caller is done or gives up (a dropped request).
struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Passwords {
    pub fn new(concurrency: usize, queue_limit: usize) -> Self {
        let concurrency = concurrency.max(1);
        let dummy_hash = hash_blocking("ticketbooth dummy password").expect("argon2 hashing works");
        Passwords {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(concurrency)),
                threads: start_hashing_threads(concurrency),
                concurrency,
                queue_limit,
                admitted: AtomicUsize::new(0),
                dummy_hash,
                hashes_run: AtomicU64::new(0),
                running: AtomicUsize::new(0),
                peak_running: AtomicUsize::new(0),
            }),
        }
    }

    /// A PHC string for a new password.
    pub async fn hash(&self, password: &Password) -> Result<String, AppError> {
        let password = password.0.clone();
        self.run(move || hash_blocking(&password))
            .await?
            .map_err(|error| AppError::internal("hashing a password", &error))
    }

    /// Checks `password` against `phc`, or against the dummy hash when there is no account,
    /// which always fails but costs the same.
    pub async fn verify(&self, password: &Password, phc: Option<&str>) -> Result<bool, AppError> {
        let password = password.0.clone();
        let known_user = phc.is_some();
        let phc = phc.unwrap_or(&self.inner.dummy_hash).to_owned();
        let matched = self
            .run(move || {
                // A stored hash that cannot be parsed matches nothing.
                PasswordHash::new(&phc)
                    .map(|parsed| {
                        argon2()
                            .verify_password(password.as_bytes(), &parsed)
                            .is_ok()
                    })
                    .unwrap_or(false)
            })
            .await?;
        Ok(known_user && matched)
    }

    /// Whether a stored hash was made with weaker settings than today's: another algorithm or
    /// version, less memory, or fewer passes. Such a hash is replaced at the next sign-in.
    /// A hash that cannot be read is not: it matches no password anyway.
    pub fn is_weaker_than_today(phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let today = argon2();
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13 as u32)
            || params.m_cost() < today.params().m_cost()
            || params.t_cost() < today.params().t_cost()
    }

    /// How many hashes or verifications have run since start-up.
    pub fn hashes_run(&self) -> u64 {
        self.inner.hashes_run.load(Ordering::Relaxed)
    }

    /// The most hashes that ever ran at the same time.
    pub fn peak_running(&self) -> usize {
        self.inner.peak_running.load(Ordering::Relaxed)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let inner = self.inner.clone();
        let admitted = inner.admitted.fetch_add(1, Ordering::AcqRel);
        let _admission = Admission(&inner.admitted);
        if admitted >= inner.concurrency + inner.queue_limit {
            return Err(AppError::Busy);
        }
        let permit = inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Busy)?;
        let counters = inner.clone();
        let (answer, answered) = oneshot::channel();
        // The permit moves into the job: if the request is dropped meanwhile, the hash still
        // finishes before another may start.
        let job: Job = Box::new(move || {
            let now_running = counters.running.fetch_add(1, Ordering::AcqRel) + 1;
            counters
                .peak_running
                .fetch_max(now_running, Ordering::AcqRel);
            counters.hashes_run.fetch_add(1, Ordering::Relaxed);
            let output = work();
            counters.running.fetch_sub(1, Ordering::AcqRel);
            drop(permit);
            let _ = answer.send(output);
        });
        if inner.threads.send(job).is_err() {
            tracing::error!("the hashing threads are gone");
            return Err(AppError::Internal);
        }
        answered.await.map_err(|_| {
            tracing::error!("a hashing thread dropped its work");
            AppError::Internal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password() {
        let passwords = Passwords::new(1, 8);
        let right = Password::new_choice("correct horse battery".into()).unwrap();
        let wrong = Password::new_choice("correct horse battery!".into()).unwrap();
        let phc = passwords.hash(&right).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(passwords.verify(&right, Some(&phc)).await.unwrap());
        assert!(!passwords.verify(&wrong, Some(&phc)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_user_still_costs_one_verification_and_never_matches() {
        let passwords = Passwords::new(1, 8);
        let password = Password::for_sign_in("ticketbooth dummy password".into()).unwrap();
        let before = passwords.hashes_run();
        assert!(!passwords.verify(&password, None).await.unwrap());
        assert_eq!(passwords.hashes_run(), before + 1);
    }

    #[tokio::test]
    async fn composed_and_decomposed_accents_are_the_same_password() {
        let passwords = Passwords::new(1, 8);
        let composed = Password::new_choice("caf\u{e9} au lait".into()).unwrap();
        let decomposed = Password::new_choice("cafe\u{301} au lait".into()).unwrap();
        let phc = passwords.hash(&composed).await.unwrap();
        assert!(passwords.verify(&decomposed, Some(&phc)).await.unwrap());
    }

    #[test]
    fn length_rules_count_characters_and_cap_bytes() {
        assert!(Password::new_choice("short".into()).is_err());
        assert!(Password::new_choice("ünïcødé!".into()).is_ok());
        assert!(Password::new_choice("x".repeat(128)).is_ok());
        assert!(Password::new_choice("x".repeat(129)).is_err());
        // Counted as typed: eight code points that NFKC joins into seven still make eight.
        assert!(Password::new_choice("cafe\u{301}123".into()).is_ok());
        // ...and one that NFKC splits into three (ﬃ → ffi) is one.
        assert!(Password::new_choice("\u{fb03}abcdef".into()).is_err());
        assert!(Password::for_sign_in("x".repeat(1024)).is_ok());
        assert!(Password::for_sign_in("x".repeat(1025)).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_allowed() {
        let passwords = Passwords::new(2, 64);
        let password = Arc::new(Password::for_sign_in("some password".into()).unwrap());
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let passwords = passwords.clone();
                let password = password.clone();
                tokio::spawn(async move { passwords.hash(&password).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(passwords.hashes_run(), 6);
        assert!(
            passwords.peak_running() <= 2,
            "peak {}",
            passwords.peak_running()
        );
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_instead_of_waiting() {
        let passwords = Passwords::new(1, 0);
        let password = Arc::new(Password::for_sign_in("some password".into()).unwrap());
        // Hold the only hasher so the first caller must wait.
        let held = passwords
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .unwrap();
        let first = tokio::spawn({
            let (passwords, password) = (passwords.clone(), password.clone());
            async move { passwords.hash(&password).await }
        });
        while passwords.inner.admitted.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(passwords.hash(&password).await, Err(AppError::Busy));
        drop(held);
        assert!(first.await.unwrap().is_ok());
    }
}
