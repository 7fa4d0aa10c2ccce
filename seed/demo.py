"""Demo country (placeholder until the seed helper lands the full data set)."""


def load_demo() -> dict:
    return {"accounts": [], "unregistered": []}
