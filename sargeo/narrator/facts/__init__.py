"""Ground-truth facts of a sample: what every caption, answer and contradiction check is derived from.

Two kinds, one module each: `objects` (the boxes: class, place, size, heading, type, arrangement)
and `cover` (a class mask: the share of each surface, where it lies, what lines the coast). The
branches, the question-answer pairs and the quality checker read these facts, so they agree.
"""

from sargeo.narrator.facts.cover import (
    UNIFORM,
    CoverFacts,
    cover_facts,
    read_mask,
)
from sargeo.narrator.facts.objects import (
    GroupFact,
    ObjectFact,
    SceneFacts,
    arrangement,
    cell_of,
    grid_place,
    labelled_objects,
    object_fact,
    objects_known,
    scene_facts,
)

__all__ = [
    "UNIFORM",
    "CoverFacts",
    "GroupFact",
    "ObjectFact",
    "SceneFacts",
    "arrangement",
    "cell_of",
    "cover_facts",
    "grid_place",
    "labelled_objects",
    "object_fact",
    "objects_known",
    "read_mask",
    "scene_facts",
]
