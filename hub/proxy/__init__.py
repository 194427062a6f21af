"""Proxy: model routing, pooled upstream clients, SSE relay and usage extraction."""
