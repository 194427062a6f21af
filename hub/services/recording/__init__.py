"""Request rows: journaled, written in batches off the response path, and the context gauge."""
