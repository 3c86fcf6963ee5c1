"""The secret key (DIGEST_SECRET_KEY): how strong it must be, and the one wording of its absence, said wherever
it is needed."""

from __future__ import annotations

# The secret key signs every link and token: shorter than SECRET_MIN it is refused, shorter than SECRET_ADVISED (or of
# fewer than SECRET_VARIETY distinct characters) it is accepted with a warning. NEW_KEY_COMMAND prints a good one.
SECRET_MIN, SECRET_ADVISED, SECRET_VARIETY = 16, 32, 10
NEW_KEY_COMMAND = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def missing_secret(purpose: str) -> str:
    """What is said wherever the secret key is needed and not set: what for, where to set it and how to make one."""
    return f"DIGEST_SECRET_KEY is not set: {purpose} (set it in the environment or .env; make one with `{NEW_KEY_COMMAND}`)"


def secret_key_verdict(value: str) -> tuple[str | None, str | None]:
    """(problem, warning) of a DIGEST_SECRET_KEY value: a problem refuses it, a warning lets it through, saying why."""
    how = f"make one with `{NEW_KEY_COMMAND}` and set it in the environment or .env"
    if len(value) < SECRET_MIN:
        return (
            f"DIGEST_SECRET_KEY is too short ({len(value)} characters; at least {SECRET_MIN}, {SECRET_ADVISED} or more advised): {how}",
            None,
        )
    if len(value) < SECRET_ADVISED or len(set(value)) < SECRET_VARIETY:
        why = f"{len(value)} characters" if len(value) < SECRET_ADVISED else f"only {len(set(value))} different characters"
        return None, f"DIGEST_SECRET_KEY is weak ({why}): anyone who guesses it can forge unsubscribe and preferences links; {how}"
    return None, None
