"""Context savings, pure: rounds, masking, salient lines, summaries, request layout."""
