"""Features: the MCP client hub, context savings and the workspace guard."""
