"""``python -m digest.issue.meaning.seed [CONFIG]`` (``make starting-vectors``): the starting set's vectors, shipped beside it.

A first build would otherwise embed the whole starting set (300 posts: seconds) before placing a single post. The
file is a cache, keyed like the vector cache by the model and each text: a label edited since, or another model,
is simply computed. Run it after editing config/labelled-posts.txt; tests/test_learning.py says when it is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from digest.config import load_settings
from digest.config.labelled import SEED_SUFFIX
from digest.models.errors import ConfigError


def write_starting_vectors(config: Path) -> Path:
    """Embed the starting set of ``config``'s newsletter with its model and write the seed beside the set's file."""
    from digest.issue.meaning import starting_texts
    from digest.issue.meaning.cache import write_seed
    from digest.issue.meaning.model import embedder, model_key

    settings = load_settings(config, environ={})
    source = settings.newsletter.meaning.examples_file
    if source is None:
        raise ConfigError([f"{config}: [grouping] examples_file names no starting set to embed"])
    texts = starting_texts(settings.newsletter)
    target = source.with_name(f"{source.stem}{SEED_SUFFIX}")
    write_seed(target, model_key(settings.newsletter.meaning.model), texts, embedder(settings.newsletter.meaning.model).embed(texts))
    return target


def main() -> None:
    config = Path(sys.argv[1] if len(sys.argv) > 1 else "config/digest.toml")
    try:
        written = write_starting_vectors(config)
    except ConfigError as exc:
        sys.exit("\n".join(exc.problems))
    print(f"wrote {written}")


if __name__ == "__main__":
    main()
