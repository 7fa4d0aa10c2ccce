"""Operations commands (backup, restore, checks) for the `flask` CLI."""
