"""The organisation's staff accounts in the sender app: the admin's user pages, the user's own
account (sessions, password), and the pages behind invitation and password-reset links."""
