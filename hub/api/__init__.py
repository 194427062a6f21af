"""HTTP surface: OpenAI routes, REST under /api, WebSocket, dashboard and /mcp."""
