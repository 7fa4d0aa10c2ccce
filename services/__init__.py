"""Business rules and state changes. No Flask request objects in here: callers pass an
Actor. Services raise DomainError with a Chinese message for the user."""
from dataclasses import dataclass

from models.enums import UserKind


class DomainError(Exception):
    """A rule refused the request; `message` is shown to the user as is."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Actor:
    kind: UserKind
    id: int | None
    name: str
    ip: str = ""
    institution_id: int | None = None
    authority_id: int | None = None


SYSTEM = Actor(UserKind.SYSTEM, None, "系统")
