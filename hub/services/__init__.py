"""Services, by domain: chat, savings, sessions, access, recording, reporting, cluster."""
