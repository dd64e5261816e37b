//! The two ways of telling clients apart, the settings that shape them, and who is signed in.

use serde::{Deserialize, Serialize};

/// How the server recognises a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A session-ID cookie pointing at a row the server keeps.
    Session,
    /// A signed access token checked by signature, and a rotating refresh token.
    Jwt,
}

impl Mode {
    /// Stable name for forms, CSS and tests.
    pub fn key(self) -> &'static str {
        match self {
            Mode::Session => "session",
            Mode::Jwt => "jwt",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::Session => "cookie session",
            Mode::Jwt => "JWT",
        }
    }

    pub fn other(self) -> Mode {
        match self {
            Mode::Session => Mode::Jwt,
            Mode::Jwt => Mode::Session,
        }
    }

    pub fn from_key(key: &str) -> Option<Mode> {
        [Mode::Session, Mode::Jwt]
            .into_iter()
            .find(|mode| mode.key() == key)
    }
}

/// How far a JWT server goes to make a kill take effect before the access token expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Revocation {
    /// Signature only: a killed device keeps working until its token's `exp`.
    Pure,
    /// Every request also reads the token's refresh family (`sid`): kills are instant, one
    /// indexed read per request.
    SessionCheck,
    /// Revoked `jti`s are kept in memory until their `exp`: instant on this server, no read.
    Denylist,
}

impl Revocation {
    pub const ALL: [Revocation; 3] = [
        Revocation::Pure,
        Revocation::SessionCheck,
        Revocation::Denylist,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Revocation::Pure => "pure",
            Revocation::SessionCheck => "session-check",
            Revocation::Denylist => "denylist",
        }
    }

    pub fn from_key(key: &str) -> Option<Revocation> {
        Self::ALL.into_iter().find(|setting| setting.key() == key)
    }
}

/// The database the server keeps its accounts in, named by its `DATABASE_URL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseKind {
    /// Embedded: a file beside the server (the default).
    Sqlite,
    /// A server that several instances share.
    Postgres,
}

impl DatabaseKind {
    /// The database a URL names, by its scheme; `None` for any other.
    pub fn of_url(url: &str) -> Option<DatabaseKind> {
        match url.split_once(':')?.0 {
            "sqlite" => Some(DatabaseKind::Sqlite),
            "postgres" | "postgresql" => Some(DatabaseKind::Postgres),
            _ => None,
        }
    }

    /// Its name in settings.
    pub fn key(self) -> &'static str {
        match self {
            DatabaseKind::Sqlite => "sqlite",
            DatabaseKind::Postgres => "postgres",
        }
    }

    /// The store that keeps cookie sessions in this database's `sessions` table.
    pub fn session_store(self) -> SessionStoreKind {
        match self {
            DatabaseKind::Sqlite => SessionStoreKind::Sqlite,
            DatabaseKind::Postgres => SessionStoreKind::Postgres,
        }
    }
}

/// Where the server keeps cookie sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStoreKind {
    /// The drawer: a table in SQLite; sessions survive a restart.
    Sqlite,
    /// The warehouse: a table in PostgreSQL, which every server reaching it shares.
    Postgres,
    /// The desk: this process's memory; a restart signs every cookie-session user out.
    Memory,
    /// The shared desk: Redis, which every server reaching it shares.
    Redis,
}

impl SessionStoreKind {
    /// Stable name for `SESSION_STORE`, `data-store` and tests.
    pub fn key(self) -> &'static str {
        match self {
            SessionStoreKind::Sqlite => "sqlite",
            SessionStoreKind::Postgres => "postgres",
            SessionStoreKind::Memory => "memory",
            SessionStoreKind::Redis => "redis",
        }
    }

    /// The store by the articles' name for it.
    pub fn short_label(self) -> &'static str {
        match self {
            SessionStoreKind::Sqlite => "SQLite (the drawer)",
            SessionStoreKind::Postgres => "PostgreSQL (the warehouse)",
            SessionStoreKind::Memory => "memory (the desk)",
            SessionStoreKind::Redis => "Redis (the shared desk)",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SessionStoreKind::Sqlite => "SQLite (the drawer: sessions survive a restart)",
            SessionStoreKind::Postgres => {
                "PostgreSQL (the warehouse: every server reaching it sees the same sessions)"
            }
            SessionStoreKind::Memory => {
                "memory (the desk: a restart signs every cookie-session user out)"
            }
            SessionStoreKind::Redis => {
                "Redis (the shared desk: every server reaching it sees the same sessions)"
            }
        }
    }
}

/// The signed-in user as the pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub username: String,
    pub mode: Mode,
    /// The role the request's credentials carry says administrator: a copy, as old as the
    /// credentials (a JWT's claim), so it only decides whether the header links to `/admin`;
    /// the admin pages read the role from the database.
    #[serde(default)]
    pub is_admin: bool,
}

/// What the page header shows: who is signed in, and which server answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderFacts {
    pub viewer: Option<Viewer>,
    pub instance: Option<String>,
}
