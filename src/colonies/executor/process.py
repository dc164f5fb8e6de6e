"""The process handed to executor functions: the SDK's ``Process`` model, so ``process.spec.kwargs``,
``process["spec"]["kwargs"]``, ``process["in"]`` and ``process.input`` all work, as in client code."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from ..client.models import AttrDict, Process, to_attrdict

log = logging.getLogger(__name__)

__all__ = ["Process", "to_process"]


def to_process(raw: dict[str, Any]) -> Process | AttrDict:
    """The assigned process as a model; a reply the model rejects still reaches the function, as an AttrDict
    (same dict and attribute access), rather than leaving the process unclosed."""
    try:
        return Process.model_validate(raw)
    except ValidationError as exc:
        log.warning("process %s does not fit the Process model (%s); passing it as a dict",
                    raw.get("processid"), exc.errors()[:1])  # fmt: skip
        return to_attrdict(raw)  # type: ignore[no-any-return]
