"""Virtual keys and what they may spend: budgets and rates, in memory or in Redis."""
