"""Features: MCP client hub, sanitizer, compaction, workspace guard."""
