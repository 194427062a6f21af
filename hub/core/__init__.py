"""Core: typed records, errors, token counting and the SQLite store. Imports no other layer."""
