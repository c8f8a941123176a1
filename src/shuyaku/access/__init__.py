"""Access: who is acting, and what they may do (users, roles and 2FA arrive with issue 4)."""
