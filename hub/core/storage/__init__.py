"""Storage: the SQLite and PostgreSQL engines, migrations, the typed store, journal and stores."""
