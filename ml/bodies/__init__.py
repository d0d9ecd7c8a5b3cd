"""People's bodies: a body embedding for re-identification (who is this person, from their
clothes and build, when the face is not seen); ``network`` (the CNN), ``embedding`` (crops →
unit vectors, rankings)."""
