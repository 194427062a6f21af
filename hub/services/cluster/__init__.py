"""Team mode: which replica this is, and the Redis link that makes replicas act as one."""
