//! The SQLite file cache.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode as SqliteCode, OpenFlags, TransactionBehavior};

use super::{CacheEntry, ZidCache};
use crate::{Error, RetainedSecret, Zid};

/// `PRAGMA application_id`: "sotZ", so a foreign SQLite file is told apart from ours.
const APPLICATION_ID: i32 = 0x736f_745a;
/// `PRAGMA user_version` of the schema below.
const SCHEMA_VERSION: i32 = 1;

/// The schema. `identity` gets its single row (with a NULL ZID) when the file is created, so a
/// missing row later means damage, never "first use".
const SCHEMA: &str = "
CREATE TABLE identity (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    zid BLOB CHECK (zid IS NULL OR length(zid) = 12)
) STRICT;
CREATE TABLE peers (
    zid BLOB NOT NULL PRIMARY KEY CHECK (length(zid) = 12),
    rs1 BLOB CHECK (rs1 IS NULL OR length(rs1) = 32),
    rs2 BLOB CHECK (rs2 IS NULL OR length(rs2) = 32),
    sas_verified INTEGER NOT NULL CHECK (sas_verified IN (0, 1))
) STRICT, WITHOUT ROWID;
INSERT INTO identity (id, zid) VALUES (1, NULL);
";

/// The tables [`SCHEMA`] creates, sorted by name: the whole content of `sqlite_schema`.
const TABLES: [&str; 2] = ["identity", "peers"];

const SELECT_SELF: &str = "SELECT zid FROM identity WHERE id = 1";
const UPDATE_SELF: &str = "UPDATE identity SET zid = ?1 WHERE id = 1 AND zid IS NULL";
const SELECT_PEER: &str = "SELECT rs1, rs2, sas_verified FROM peers WHERE zid = ?1";
const UPSERT_PEER: &str = "INSERT INTO peers (zid, rs1, rs2, sas_verified) VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (zid) DO UPDATE
    SET rs1 = excluded.rs1, rs2 = excluded.rs2, sas_verified = excluded.sas_verified";
const UPDATE_VERIFIED: &str = "UPDATE peers SET sas_verified = ?2 WHERE zid = ?1";

/// How long a call waits for another process that holds the file's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`ZidCache`] in a SQLite file: it survives restarts, a crash (even power loss) during a
/// write loses nothing committed, and a damaged or foreign file is refused with
/// [`Error::CacheCorrupt`] instead of being replaced by a fresh identity.
///
/// Every write is one transaction with a rollback journal synced to disk before and after the
/// database itself, so an interrupted write is undone when the file is next opened. A new file
/// is created readable by its owner only (unix mode 0600), since it holds secrets; an existing
/// file keeps its permissions. Several processes may share one file.
pub struct SqliteCache {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// What [`inspect`] found in the file.
enum Layout {
    /// No tables and no header marks: a new file to initialize.
    Empty,
    /// A sotto cache of the current schema.
    Current,
}

impl SqliteCache {
    /// Opens the cache at `path`, creating the file (but not its directory) if it is missing.
    /// An empty file (as a crash right after creating it leaves) is initialized like a new one;
    /// it holds no identity to lose.
    ///
    /// Errors: [`Error::Cache`] when the directory is missing or the file cannot be read and
    /// written; [`Error::CacheCorrupt`] when the file is not a sotto cache or fails SQLite's
    /// integrity check.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(cache_error(
                    &path,
                    format!(
                        "directory {} does not exist; create it first",
                        dir.display()
                    ),
                ));
            }
        }
        create_private(&path)?;
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql_error(&path, e))?;
        let cache = Self {
            conn: Mutex::new(conn),
            path,
        };
        cache.prepare()?;
        Ok(cache)
    }

    /// The cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a transaction drops it, which rolls it back: the connection is sound.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        |e| sql_error(&self.path, e)
    }

    fn corrupt(&self, reason: impl Into<String>) -> Error {
        Error::CacheCorrupt {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// Configures the connection, checks the file and creates the schema in a new file.
    fn prepare(&self) -> Result<(), Error> {
        let mut conn = self.lock();
        conn.busy_timeout(BUSY_TIMEOUT).map_err(self.sql())?;
        // Per-connection settings; none of them touches the file. EXTRA is FULL plus a sync of
        // the directory after the journal is deleted, without which a power cut right after a
        // commit can roll that commit back. secure_delete overwrites replaced secrets in the
        // file. The schema of a file we did not write must not run functions with side effects.
        conn.execute_batch(
            "PRAGMA synchronous = EXTRA;
             PRAGMA secure_delete = ON;
             PRAGMA trusted_schema = OFF;
             PRAGMA cell_size_check = ON;",
        )
        .map_err(self.sql())?;

        // Inspect before changing anything, so a foreign file is left exactly as it was.
        let layout = self.inspect(&conn)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))
            .map_err(self.sql())?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(cache_error(
                &self.path,
                format!("cannot use a rollback journal (journal mode stays {mode})"),
            ));
        }
        if let Layout::Empty = layout {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(self.sql())?;
            // Another process may have initialized the file since the first look.
            if let Layout::Empty = self.inspect(&tx)? {
                tx.execute_batch(SCHEMA).map_err(self.sql())?;
                tx.pragma_update(None, "application_id", APPLICATION_ID)
                    .map_err(self.sql())?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                    .map_err(self.sql())?;
            }
            tx.commit().map_err(self.sql())?;
        }
        // The statements compile only against the expected columns.
        for sql in [
            SELECT_SELF,
            UPDATE_SELF,
            SELECT_PEER,
            UPSERT_PEER,
            UPDATE_VERIFIED,
        ] {
            conn.prepare_cached(sql)
                .map_err(|e| self.corrupt(format!("its tables do not match this version: {e}")))?;
        }
        Ok(())
    }

    /// Reads the header marks, the table list and SQLite's own check of the file.
    fn inspect(&self, conn: &Connection) -> Result<Layout, Error> {
        // The first read also rolls back a write that a crash interrupted.
        let app_id: i32 = conn
            .pragma_query_value(None, "application_id", |row| row.get(0))
            .map_err(self.sql())?;
        let check: String = conn
            .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
            .map_err(self.sql())?;
        if check != "ok" {
            return Err(self.corrupt(format!("integrity check failed: {check}")));
        }
        let version: i32 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(self.sql())?;
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema ORDER BY name")
            .map_err(self.sql())?;
        let names = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(self.sql())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.sql())?;

        if app_id == 0 && version == 0 && names.is_empty() {
            return Ok(Layout::Empty);
        }
        if app_id != APPLICATION_ID {
            return Err(self.corrupt(format!(
                "not a sotto zid cache: sqlite database with application_id {app_id:#x}"
            )));
        }
        if version > SCHEMA_VERSION {
            return Err(cache_error(
                &self.path,
                format!(
                    "written by a newer sotto (schema version {version}, this build reads \
                     {SCHEMA_VERSION}); use that version"
                ),
            ));
        }
        if version != SCHEMA_VERSION {
            return Err(self.corrupt(format!("unknown schema version {version}")));
        }
        if names != TABLES {
            return Err(self.corrupt(format!(
                "tables {names:?} do not match the expected {TABLES:?}"
            )));
        }
        Ok(Layout::Current)
    }

    /// Reads an optional 32-byte secret column.
    fn secret_column(
        &self,
        row: &rusqlite::Row<'_>,
        index: usize,
        name: &str,
    ) -> Result<Option<RetainedSecret>, Error> {
        match row.get_ref(index).map_err(self.sql())? {
            ValueRef::Null => Ok(None),
            // Copied straight from SQLite's buffer into the zeroizing type.
            ValueRef::Blob(bytes) => RetainedSecret::from_slice(bytes).map(Some).ok_or_else(|| {
                self.corrupt(format!(
                    "a peer's {name} is {} bytes, expected {}",
                    bytes.len(),
                    RetainedSecret::LEN
                ))
            }),
            other => Err(self.corrupt(format!(
                "a peer's {name} is a {} value, expected a blob",
                other.data_type()
            ))),
        }
    }
}

impl core::fmt::Debug for SqliteCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteCache")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ZidCache for SqliteCache {
    fn self_zid(&self, rng: &mut dyn rand_core::RngCore) -> Result<Zid, Error> {
        let mut conn = self.lock();
        // Immediate: two processes creating the identity at once must agree on one.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sql())?;
        let zid = {
            let mut stmt = tx.prepare_cached(SELECT_SELF).map_err(self.sql())?;
            let mut rows = stmt.query([]).map_err(self.sql())?;
            let Some(row) = rows.next().map_err(self.sql())? else {
                return Err(self.corrupt("the row holding this endpoint's zid is missing"));
            };
            match row.get_ref(0).map_err(self.sql())? {
                ValueRef::Null => None,
                ValueRef::Blob(bytes) => match <[u8; 12]>::try_from(bytes) {
                    Ok(zid) => Some(Zid(zid)),
                    Err(_) => {
                        return Err(self.corrupt(format!(
                            "this endpoint's zid is {} bytes, expected 12",
                            bytes.len()
                        )))
                    }
                },
                other => {
                    return Err(self.corrupt(format!(
                        "this endpoint's zid is a {} value, expected a blob",
                        other.data_type()
                    )))
                }
            }
        };
        if let Some(zid) = zid {
            return Ok(zid);
        }
        let mut zid = [0u8; 12];
        rng.fill_bytes(&mut zid);
        let changed = tx
            .prepare_cached(UPDATE_SELF)
            .and_then(|mut stmt| stmt.execute([&zid[..]]))
            .map_err(self.sql())?;
        if changed != 1 {
            return Err(self.corrupt("this endpoint's zid could not be recorded"));
        }
        tx.commit().map_err(self.sql())?;
        Ok(Zid(zid))
    }

    fn load(&self, peer: &Zid) -> Result<Option<CacheEntry>, Error> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(SELECT_PEER).map_err(self.sql())?;
        let mut rows = stmt.query([&peer.0[..]]).map_err(self.sql())?;
        let Some(row) = rows.next().map_err(self.sql())? else {
            return Ok(None);
        };
        let sas_verified = match row.get_ref(2).map_err(self.sql())? {
            ValueRef::Integer(0) => false,
            ValueRef::Integer(1) => true,
            _ => return Err(self.corrupt("a peer's sas-verified flag is neither 0 nor 1")),
        };
        Ok(Some(CacheEntry {
            rs1: self.secret_column(row, 0, "rs1")?,
            rs2: self.secret_column(row, 1, "rs2")?,
            sas_verified,
        }))
    }

    fn store(&self, peer: &Zid, entry: &CacheEntry) -> Result<(), Error> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sql())?;
        {
            let mut stmt = tx.prepare_cached(UPSERT_PEER).map_err(self.sql())?;
            // Bound as borrowed slices: SQLite copies them, no copy is left on the Rust side.
            stmt.execute(rusqlite::params![
                &peer.0[..],
                entry.rs1.as_ref().map(|rs| &rs.expose_secret()[..]),
                entry.rs2.as_ref().map(|rs| &rs.expose_secret()[..]),
                entry.sas_verified,
            ])
            .map_err(self.sql())?;
        }
        tx.commit().map_err(self.sql())
    }

    fn set_sas_verified(&self, peer: &Zid, verified: bool) -> Result<(), Error> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sql())?;
        tx.prepare_cached(UPDATE_VERIFIED)
            .and_then(|mut stmt| stmt.execute(rusqlite::params![&peer.0[..], verified]))
            .map_err(self.sql())?;
        tx.commit().map_err(self.sql())
    }
}

/// Creates a missing file with owner-only permissions (SQLite would use 0644), and checks
/// that an existing one can be read and written, for a clearer error than SQLite gives.
fn create_private(path: &Path) -> Result<(), Error> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(drop)
        .map_err(|e| cache_error(path, format!("cannot open it for reading and writing: {e}")))
}

fn cache_error(path: &Path, reason: String) -> Error {
    Error::Cache {
        path: path.to_path_buf(),
        reason,
    }
}

/// SQLite's own corruption codes become [`Error::CacheCorrupt`]; everything else (locks, I/O,
/// a full disk) is [`Error::Cache`].
fn sql_error(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(SqliteCode::DatabaseCorrupt | SqliteCode::NotADatabase) => Error::CacheCorrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
        _ => cache_error(path, e.to_string()),
    }
}
