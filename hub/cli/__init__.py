"""The ``kimi-proxy`` command: serve, mcp, keys, config checks, and its logging set-up."""
