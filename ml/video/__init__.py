"""Video: screen time per gallery person, tracks, timeline and contact sheet (screentime)."""
