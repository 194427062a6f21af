"""One chat request's path: route, session, savings, forward, relay, record."""
