"""WTForms / Flask-WTF forms with Chinese labels and messages."""
