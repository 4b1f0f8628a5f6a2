"""Reports built on the metrics: pipeline review, loss patterns, revenue plan, diagnostic, campaigns."""
