"""Reading the rows back: analytics, per-session statistics, exports, Prometheus."""
