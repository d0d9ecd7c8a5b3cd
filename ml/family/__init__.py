"""Family resemblance: who a child looks like, per face region (resemblance)."""
