"""Synthetic prefecture: municipalities, households, persons and their daily changes.

Nothing here is real: names are random combinations, addresses are invented, individual
numbers are random with valid check digits. Seeded, so every run with a seed is the same.
"""
