"""Sessions: which one a request belongs to, their live state, shared across replicas."""
