"""The hub's MCP endpoints: /mcp and profiles, /servers/NAME/mcp, and stdio."""
