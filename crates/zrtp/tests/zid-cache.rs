//! The retained-secret (ZID) cache: the same behaviour from the in-memory and the SQLite cache,
//! and from the SQLite cache persistence across reopen and process kills, and a clear refusal
//! of damaged or foreign files.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sotto_zrtp::cache::{CacheEntry, MemoryCache, SqliteCache, ZidCache};
use sotto_zrtp::{Error, RetainedSecret, Zid};

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("sotto-zid-cache-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn peer(i: u64) -> Zid {
    let mut zid = [0xa5; 12];
    zid[..8].copy_from_slice(&i.to_be_bytes());
    Zid(zid)
}

fn secret(i: u64, which: u8) -> RetainedSecret {
    let mut bytes = [0u8; 32];
    for (j, b) in bytes.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31) ^ which.wrapping_mul(97) ^ (j as u8) ^ ((i >> 8) as u8);
    }
    RetainedSecret::new(bytes)
}

/// A distinct entry for each `i`, with every combination of present secrets and flag.
fn entry(i: u64) -> CacheEntry {
    CacheEntry {
        rs1: (i % 5 != 4).then(|| secret(i, 1)),
        rs2: (i % 3 != 0).then(|| secret(i, 2)),
        sas_verified: i % 2 == 1,
    }
}

fn open(path: &Path) -> SqliteCache {
    SqliteCache::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

fn expect_corrupt(path: &Path, result: Result<SqliteCache, Error>) -> String {
    match result {
        Err(e @ Error::CacheCorrupt { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains("move it aside"), "{text}");
            text
        }
        other => panic!("expected CacheCorrupt, got {other:?}"),
    }
}

// ---- behaviour shared by every implementation ----

fn self_zid_is_created_once(cache: &dyn ZidCache) {
    let zid = cache.self_zid(&mut rng(1)).expect("self zid");
    assert_eq!(cache.self_zid(&mut rng(2)).expect("self zid"), zid);
    let mut expected = [0u8; 12];
    rand_chacha::rand_core::RngCore::fill_bytes(&mut rng(1), &mut expected);
    assert_eq!(zid, Zid(expected), "the zid comes from the given rng");
}

fn unknown_peer_has_no_entry(cache: &dyn ZidCache) {
    assert_eq!(cache.load(&peer(7)).expect("load"), None);
}

fn store_then_load(cache: &dyn ZidCache) {
    for i in 0..10 {
        cache.store(&peer(i), &entry(i)).expect("store");
    }
    for i in 0..10 {
        assert_eq!(
            cache.load(&peer(i)).expect("load"),
            Some(entry(i)),
            "peer {i}"
        );
    }
}

fn store_replaces_the_whole_entry(cache: &dyn ZidCache) {
    let full = CacheEntry {
        rs1: Some(secret(1, 1)),
        rs2: Some(secret(1, 2)),
        sas_verified: true,
    };
    cache.store(&peer(1), &full).expect("store");
    let fresh = CacheEntry {
        rs1: Some(secret(2, 1)),
        rs2: None,
        sas_verified: false,
    };
    cache.store(&peer(1), &fresh).expect("store");
    assert_eq!(cache.load(&peer(1)).expect("load"), Some(fresh));
    cache
        .store(&peer(1), &CacheEntry::default())
        .expect("store");
    assert_eq!(
        cache.load(&peer(1)).expect("load"),
        Some(CacheEntry::default()),
        "an entry without secrets is still an entry"
    );
}

fn sas_verified_flag(cache: &dyn ZidCache) {
    let unverified = entry(2);
    assert!(!unverified.sas_verified);
    cache.store(&peer(2), &unverified).expect("store");
    cache.store(&peer(3), &entry(3)).expect("store");
    cache.set_sas_verified(&peer(2), true).expect("set");
    let loaded = cache.load(&peer(2)).expect("load").expect("entry");
    assert!(loaded.sas_verified);
    assert_eq!(
        (&loaded.rs1, &loaded.rs2),
        (&unverified.rs1, &unverified.rs2)
    );
    cache.set_sas_verified(&peer(2), false).expect("clear");
    assert_eq!(cache.load(&peer(2)).expect("load"), Some(unverified));
    assert_eq!(
        cache.load(&peer(3)).expect("load"),
        Some(entry(3)),
        "other peers untouched"
    );
}

fn sas_verified_for_unknown_peer_stores_nothing(cache: &dyn ZidCache) {
    cache.set_sas_verified(&peer(9), true).expect("set");
    assert_eq!(cache.load(&peer(9)).expect("load"), None);
}

fn shared_between_threads(cache: Arc<dyn ZidCache>) {
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let cache = Arc::clone(&cache);
            s.spawn(move || {
                for i in (t * 10)..(t * 10 + 10) {
                    cache.store(&peer(i), &entry(i)).expect("store");
                }
            });
        }
    });
    for i in 0..40 {
        assert_eq!(
            cache.load(&peer(i)).expect("load"),
            Some(entry(i)),
            "peer {i}"
        );
    }
}

type Behaviour = (&'static str, fn(&dyn ZidCache));

const BEHAVIOURS: [Behaviour; 6] = [
    ("self_zid_is_created_once", self_zid_is_created_once),
    ("unknown_peer_has_no_entry", unknown_peer_has_no_entry),
    ("store_then_load", store_then_load),
    (
        "store_replaces_the_whole_entry",
        store_replaces_the_whole_entry,
    ),
    ("sas_verified_flag", sas_verified_flag),
    (
        "sas_verified_for_unknown_peer_stores_nothing",
        sas_verified_for_unknown_peer_stores_nothing,
    ),
];

#[test]
fn memory_cache_behaviour() {
    for (name, check) in BEHAVIOURS {
        eprintln!("memory: {name}");
        check(&MemoryCache::new());
    }
    shared_between_threads(Arc::new(MemoryCache::new()));
}

#[test]
fn memory_cache_with_a_given_zid_keeps_it() {
    let cache = MemoryCache::with_zid(Zid([7; 12]));
    assert_eq!(cache.self_zid(&mut rng(1)).expect("self zid"), Zid([7; 12]));
    assert_eq!(cache.load(&peer(1)).expect("load"), None);
}

#[test]
fn sqlite_cache_behaviour() {
    let dir = TempDir::new("behaviour");
    for (name, check) in BEHAVIOURS {
        eprintln!("sqlite: {name}");
        check(&open(&dir.file(&format!("{name}.db"))));
    }
    shared_between_threads(Arc::new(open(&dir.file("threads.db"))));
}

// ---- persistence ----

#[test]
fn self_zid_is_stable_across_reopen() {
    let dir = TempDir::new("zid-reopen");
    let path = dir.file("zid.db");
    let zid = open(&path).self_zid(&mut rng(10)).expect("self zid");
    let reopened = open(&path);
    assert_eq!(reopened.path(), path);
    assert_eq!(reopened.self_zid(&mut rng(11)).expect("self zid"), zid);
}

#[test]
fn entries_survive_reopen() {
    let dir = TempDir::new("entries-reopen");
    let path = dir.file("zid.db");
    {
        let cache = open(&path);
        for i in 0..20 {
            cache.store(&peer(i), &entry(i)).expect("store");
        }
        cache.set_sas_verified(&peer(4), true).expect("set");
    }
    let cache = open(&path);
    for i in 0..20 {
        let mut expected = entry(i);
        expected.sas_verified |= i == 4;
        assert_eq!(
            cache.load(&peer(i)).expect("load"),
            Some(expected),
            "peer {i}"
        );
    }
    assert_eq!(cache.load(&peer(20)).expect("load"), None);
}

#[test]
fn two_handles_on_one_file_agree_on_the_zid() {
    let dir = TempDir::new("two-handles");
    let path = dir.file("zid.db");
    let a = open(&path);
    let b = open(&path);
    let zid = b.self_zid(&mut rng(20)).expect("self zid");
    assert_eq!(a.self_zid(&mut rng(21)).expect("self zid"), zid);
    a.store(&peer(1), &entry(1)).expect("store");
    assert_eq!(b.load(&peer(1)).expect("load"), Some(entry(1)));
}

#[cfg(unix)]
#[test]
fn new_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("mode");
    let path = dir.file("zid.db");
    open(&path).self_zid(&mut rng(1)).expect("self zid");
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

// ---- refusing what it cannot use ----

#[test]
fn missing_directory_is_a_cache_error() {
    let dir = TempDir::new("no-dir");
    let missing = dir.file("missing");
    let path = missing.join("zid.db");
    match SqliteCache::open(&path) {
        Err(e @ Error::Cache { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&missing.display().to_string()), "{text}");
            assert!(text.contains("does not exist"), "{text}");
        }
        other => panic!("expected Cache error, got {other:?}"),
    }
    assert!(!missing.exists(), "the directory is not created");
}

#[test]
fn a_directory_in_place_of_the_file_is_a_cache_error() {
    let dir = TempDir::new("is-dir");
    let path = dir.file("zid.db");
    std::fs::create_dir(&path).expect("mkdir");
    assert!(
        matches!(SqliteCache::open(&path), Err(Error::Cache { .. })),
        "a directory is not a corrupt cache"
    );
}

#[test]
fn garbage_file_is_corrupt_and_left_alone() {
    let dir = TempDir::new("garbage");
    let path = dir.file("zid.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&path, &garbage).expect("write");
    let text = expect_corrupt(&path, SqliteCache::open(&path));
    assert!(text.contains("not a database"), "{text}");
    assert_eq!(std::fs::read(&path).expect("read"), garbage);
}

#[test]
fn truncated_cache_is_corrupt() {
    let dir = TempDir::new("truncated");
    let path = dir.file("zid.db");
    {
        let cache = open(&path);
        cache.self_zid(&mut rng(1)).expect("self zid");
        for i in 0..300 {
            cache.store(&peer(i), &entry(i)).expect("store");
        }
    }
    let len = std::fs::metadata(&path).expect("metadata").len();
    assert!(len > 4 * 4096, "a cache of several pages ({len} bytes)");
    for keep in [len / 2, 4096, 100, 10] {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(keep))
            .expect("truncate");
        expect_corrupt(&path, SqliteCache::open(&path));
        assert_eq!(
            std::fs::metadata(&path).expect("metadata").len(),
            keep,
            "not rewritten"
        );
    }
}

#[test]
fn foreign_sqlite_database_is_corrupt_and_left_alone() {
    let dir = TempDir::new("foreign");
    let path = dir.file("other.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("sqlite");
        conn.execute_batch(
            "CREATE TABLE contacts (name TEXT, number TEXT);
             INSERT INTO contacts VALUES ('alice', '123');",
        )
        .expect("foreign schema");
    }
    let before = std::fs::read(&path).expect("read");
    let text = expect_corrupt(&path, SqliteCache::open(&path));
    assert!(text.contains("not a sotto zid cache"), "{text}");
    assert_eq!(std::fs::read(&path).expect("read"), before);

    // A foreign file with its own application id, even without tables.
    let path = dir.file("other-app.db");
    rusqlite::Connection::open(&path)
        .and_then(|c| c.pragma_update(None, "application_id", 0x1234_5678))
        .expect("sqlite");
    let text = expect_corrupt(&path, SqliteCache::open(&path));
    assert!(text.contains("0x12345678"), "{text}");
}

#[test]
fn newer_schema_is_refused_without_calling_it_corrupt() {
    let dir = TempDir::new("newer");
    let path = dir.file("zid.db");
    open(&path).self_zid(&mut rng(1)).expect("self zid");
    rusqlite::Connection::open(&path)
        .and_then(|c| c.pragma_update(None, "user_version", 2))
        .expect("bump version");
    match SqliteCache::open(&path) {
        Err(e @ Error::Cache { .. }) => assert!(e.to_string().contains("newer"), "{e}"),
        other => panic!("expected Cache error, got {other:?}"),
    }
}

#[test]
fn missing_table_is_corrupt() {
    let dir = TempDir::new("missing-table");
    let path = dir.file("zid.db");
    drop(open(&path));
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch("DROP TABLE peers"))
        .expect("drop table");
    let text = expect_corrupt(&path, SqliteCache::open(&path));
    assert!(text.contains("tables"), "{text}");
}

/// Damages the file behind the cache's back, bypassing the schema's CHECK constraints as a
/// flipped bit would.
fn tamper(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).expect("sqlite");
    conn.execute_batch(&format!(
        "PRAGMA ignore_check_constraints = ON; PRAGMA writable_schema = ON; {sql}"
    ))
    .expect("tamper");
}

fn expect_corrupt_zid(cache: &SqliteCache) {
    for _ in 0..2 {
        match cache.self_zid(&mut rng(2)) {
            Err(e @ Error::CacheCorrupt { .. }) => assert!(e.to_string().contains("zid"), "{e}"),
            other => panic!("expected CacheCorrupt, got {other:?}"),
        }
    }
}

#[test]
fn damaged_self_zid_is_never_regenerated() {
    let dir = TempDir::new("damaged-zid");
    const SHORT: &str = "UPDATE identity SET zid = x'0102030405'";

    // Damage present when the file is opened fails SQLite's check of the CHECK constraints.
    let path = dir.file("short-before-open.db");
    open(&path).self_zid(&mut rng(1)).expect("self zid");
    tamper(&path, SHORT);
    let text = expect_corrupt(&path, SqliteCache::open(&path));
    assert!(text.contains("identity"), "{text}");

    // Damage done while the cache is open is caught when the zid is read.
    let path = dir.file("short-while-open.db");
    let cache = open(&path);
    cache.self_zid(&mut rng(1)).expect("self zid");
    tamper(&path, SHORT);
    expect_corrupt_zid(&cache);

    // A missing row is damage too, not a first use.
    let path = dir.file("deleted.db");
    open(&path).self_zid(&mut rng(1)).expect("self zid");
    tamper(&path, "DELETE FROM identity");
    expect_corrupt_zid(&open(&path));
}

#[test]
fn self_zid_created_after_peers_were_stored() {
    let dir = TempDir::new("late-zid");
    let path = dir.file("zid.db");
    open(&path).store(&peer(1), &entry(1)).expect("store");
    let zid = open(&path).self_zid(&mut rng(5)).expect("self zid");
    assert_eq!(open(&path).self_zid(&mut rng(6)).expect("self zid"), zid);
}

#[test]
fn damaged_peer_entry_is_corrupt() {
    const DAMAGE: &str =
        "UPDATE peers SET rs1 = x'00112233' WHERE zid = x'0000000000000001a5a5a5a5'";
    let dir = TempDir::new("damaged-peer");
    let path = dir.file("zid.db");
    let cache = open(&path);
    cache.store(&peer(1), &entry(1)).expect("store");
    cache.store(&peer(2), &entry(2)).expect("store");
    tamper(&path, DAMAGE);
    match cache.load(&peer(1)) {
        Err(e @ Error::CacheCorrupt { .. }) => assert!(e.to_string().contains("rs1"), "{e}"),
        other => panic!("expected CacheCorrupt, got {other:?}"),
    }
    assert_eq!(cache.load(&peer(2)).expect("load"), Some(entry(2)));
    drop(cache);
    let text = expect_corrupt(&path, SqliteCache::open(&path));
    assert!(text.contains("peers"), "{text}");
}

// ---- secrets stay out of Debug ----

#[test]
fn debug_shows_no_key_bytes() {
    let key = [0xab; 32];
    let entry = CacheEntry {
        rs1: Some(RetainedSecret::new(key)),
        rs2: Some(RetainedSecret::new(key)),
        sas_verified: true,
    };
    let memory = MemoryCache::new();
    memory.store(&peer(1), &entry).expect("store");
    let dir = TempDir::new("debug");
    let sqlite = open(&dir.file("zid.db"));
    sqlite.store(&peer(1), &entry).expect("store");
    let text = format!("{entry:?} {memory:?} {sqlite:?}");
    assert!(text.contains("RetainedSecret(..)"), "{text}");
    for needle in ["ab", "AB", "171", "[171"] {
        assert!(!text.contains(needle), "{needle} in {text}");
    }
}

// ---- crash safety: a child process is killed with SIGKILL while writing ----

const CHILD_ENV: &str = "SOTTO_ZID_CACHE_TEST_CHILD";
/// Marks the child's progress lines (libtest may print its own text on the same line).
const MARK: &str = "@@zid-cache@@ ";
const CRASH_PEERS: u64 = 20;
const CRASH_ZID_SEED: u64 = 77;

fn spawn_child(helper: &str, path: &Path) -> Child {
    let exe = std::env::current_exe().expect("test binary");
    Command::new(exe)
        .args([
            helper,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

/// The child's progress lines, without the marker.
fn progress(child: &mut Child) -> impl Iterator<Item = String> {
    let stdout = child.stdout.take().expect("piped stdout");
    BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| line.find(MARK).map(|at| line[at + MARK.len()..].to_owned()))
}

fn child_path() -> Option<PathBuf> {
    std::env::var_os(CHILD_ENV).map(PathBuf::from)
}

/// Keeps the child alive, bounded in case the parent is gone.
fn linger() {
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
#[ignore = "child process of killed_mid_transaction_loses_nothing_committed"]
fn child_mid_transaction() {
    let Some(path) = child_path() else { return };
    let cache = open(&path);
    cache.self_zid(&mut rng(CRASH_ZID_SEED)).expect("self zid");
    for i in 0..CRASH_PEERS {
        cache.store(&peer(i), &entry(i)).expect("store");
    }
    drop(cache);
    let committed_len = std::fs::metadata(&path).expect("metadata").len();
    println!("{MARK}committed {committed_len}");

    // A second writer with a tiny page cache, so its uncommitted pages spill into the file.
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    conn.execute_batch(
        "PRAGMA cache_size = 4;
         PRAGMA synchronous = FULL;
         BEGIN IMMEDIATE;
         UPDATE peers SET rs1 = zeroblob(32), rs2 = NULL, sas_verified = 1;
         UPDATE identity SET zid = zeroblob(12);
         WITH RECURSIVE n(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
         INSERT INTO peers (zid, rs1, rs2, sas_verified)
         SELECT randomblob(12), randomblob(32), randomblob(32), 0 FROM n;",
    )
    .expect("uncommitted write");
    println!("{MARK}writing");
    linger();
}

#[test]
fn killed_mid_transaction_loses_nothing_committed() {
    let dir = TempDir::new("crash-mid");
    let path = dir.file("zid.db");
    let mut child = spawn_child("child_mid_transaction", &path);
    let mut lines = progress(&mut child);
    let committed_len: u64 = lines
        .next()
        .and_then(|l| l.strip_prefix("committed ")?.parse().ok())
        .expect("child committed its entries");
    assert_eq!(lines.next().as_deref(), Some("writing"));
    let journal = dir.file("zid.db-journal");
    assert!(journal.exists(), "the child is inside a transaction");
    assert!(
        std::fs::metadata(&path).expect("metadata").len() > committed_len,
        "uncommitted pages reached the file"
    );
    child.kill().expect("kill");
    child.wait().expect("wait");

    let cache = open(&path);
    let expected_zid = MemoryCache::new()
        .self_zid(&mut rng(CRASH_ZID_SEED))
        .expect("zid");
    assert_eq!(cache.self_zid(&mut rng(1)).expect("self zid"), expected_zid);
    for i in 0..CRASH_PEERS {
        assert_eq!(
            cache.load(&peer(i)).expect("load"),
            Some(entry(i)),
            "peer {i}"
        );
    }
    drop(cache);
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    let rows: u64 = conn
        .query_row("SELECT count(*) FROM peers", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, CRASH_PEERS, "the interrupted insert was rolled back");
    assert!(!journal.exists(), "the hot journal was replayed");
}

/// Peers the repeated-store child cycles through, so most stores replace an entry.
const CYCLE: u64 = 8;

#[test]
#[ignore = "child process of killed_during_stores_keeps_every_acknowledged_store"]
fn child_repeated_stores() {
    let Some(path) = child_path() else { return };
    let cache = open(&path);
    // A real child process killed by its parent: wall time bounds its loop.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < Duration::from_secs(60) {
        cache.store(&peer(i % CYCLE), &entry(i)).expect("store");
        println!("{MARK}stored {i}");
        i += 1;
    }
}

#[test]
fn killed_during_stores_keeps_every_acknowledged_store() {
    let dir = TempDir::new("crash-stores");
    let path = dir.file("zid.db");
    let mut child = spawn_child("child_repeated_stores", &path);
    let mut lines = progress(&mut child);
    let mut last = None;
    for line in lines.by_ref() {
        let i: u64 = line
            .strip_prefix("stored ")
            .and_then(|n| n.parse().ok())
            .expect("progress line");
        last = Some(i);
        if i >= 40 {
            break;
        }
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    // Stores acknowledged after we stopped reading are committed too.
    for line in lines {
        if let Some(i) = line.strip_prefix("stored ").and_then(|n| n.parse().ok()) {
            last = Some(i);
        }
    }
    let last = last.expect("the child stored something");
    assert!(last >= 40);

    let cache = open(&path);
    for p in 0..CYCLE {
        let acknowledged = last - (last + CYCLE - p) % CYCLE;
        let loaded = cache.load(&peer(p)).expect("load").expect("entry");
        // The store in flight at the kill may or may not have committed, but never in part.
        let in_flight = (last + 1) % CYCLE == p && loaded == entry(last + 1);
        assert!(
            loaded == entry(acknowledged) || in_flight,
            "peer {p}: neither store {acknowledged} nor the one in flight"
        );
    }
}
