"""Schema migrations, applied in order; ``PRAGMA user_version`` is the cursor.

Append new steps at the end; never edit one that has shipped.
"""

MIGRATIONS: tuple[str, ...] = (
    # 1: sessions and one row per proxied request
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        created_at REAL NOT NULL,
        active INTEGER NOT NULL DEFAULT 0,
        provider TEXT,
        model_key TEXT,
        compaction INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        model_key TEXT NOT NULL,
        provider TEXT NOT NULL,
        upstream_model TEXT NOT NULL,
        stream INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        usage_source TEXT NOT NULL,
        prompt_estimate INTEGER NOT NULL,
        ttfb_ms REAL,
        total_ms REAL NOT NULL,
        status TEXT NOT NULL,
        http_status INTEGER NOT NULL,
        error TEXT,
        cost REAL NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 1,
        tokens_saved INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX requests_by_session ON requests(session_id, id);
    """,
    # 2: savings — masked originals, cached compactions, events, last messages per session
    """
    CREATE TABLE masks (
        hash TEXT PRIMARY KEY,
        content TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        created_at REAL NOT NULL,
        used_at REAL NOT NULL
    );
    CREATE INDEX masks_by_use ON masks(used_at);
    CREATE TABLE compactions (
        prefix_hash TEXT PRIMARY KEY,
        session_id INTEGER,
        replaced INTEGER NOT NULL,
        replacement TEXT NOT NULL,
        summariser TEXT NOT NULL,
        tokens_before INTEGER NOT NULL,
        tokens_after INTEGER NOT NULL,
        created_at REAL NOT NULL,
        hits INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE savings_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id INTEGER REFERENCES sessions(id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        kind TEXT NOT NULL,
        tokens_before INTEGER NOT NULL,
        tokens_after INTEGER NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX savings_events_by_session ON savings_events(session_id, id);
    CREATE TABLE session_messages (
        session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        model_key TEXT NOT NULL,
        messages TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
)
