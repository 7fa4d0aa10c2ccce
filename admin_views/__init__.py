"""The two Flask-Admin consoles: /org/ (institutions) and /gov/ (commissions)."""
