"""Faces: find them (detection), cut them upright (alignment), turn them into vectors
(embedding, one network per file), batch all three over many photos (pipeline), remember them
(cache) and compare them (verify)."""
