"""Context savings on live requests: switched per session, cached, recorded."""
