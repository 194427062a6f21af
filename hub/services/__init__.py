"""Services: sessions, metrics, the event bus and the chat orchestration."""
