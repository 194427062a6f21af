"""Helpers the tests share: fake upstream, servers on loopback, MCP upstreams, engines."""
