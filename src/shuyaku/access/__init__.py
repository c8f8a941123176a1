"""Access: who is acting (``actor``) and what each role may do (``policy``), both pure.

Asking the policy and logging the access is ``audit.guard``; staff accounts (passwords,
TOTP, lockout, sessions) are ``shuyaku.accounts``.
"""
