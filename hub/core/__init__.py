"""Core: typed records, errors, JSON, token counting and storage. Imports no other layer."""
