"""Individual-number vault (個人番号): blind index for look-up, sealed copy, key rotation.

The plain number enters here from the inbox and never leaves: callers get blind indexes,
sealed bytes and prefecture person IDs back.
"""
