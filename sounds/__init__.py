"""emocare's calming sounds, installed as the ``emocare.sounds`` package data.

Regenerate them with ``python sounds/generate.py`` (``make sounds``).
"""
