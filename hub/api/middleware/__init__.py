"""ASGI middleware and uvicorn hooks: callers, browser policy, slow clients, disconnects."""
