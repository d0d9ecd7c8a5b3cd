"""Galleries of labelled faces: the stored index and lookalike search (store), building and
editing them (build), and naming faces or "unknown" (identify)."""
