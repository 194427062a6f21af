"""HTTP routes, one module per surface: OpenAI, /api REST, WebSocket, /metrics, dashboard."""
