"""Kimi Proxy Hub: proxy OpenAI-compatible, serveur MCP et tableau de bord."""

__version__ = "0.1.0"
