"""MCP tools the hub exposes, one module per family."""
