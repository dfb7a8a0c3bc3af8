"""The one rendering filter for labels and other third-party text shown to a person.

Labels come from evidence (imported files name their own models), so they are hostile input:
control, zero-width and bidirectional characters could hide or reorder what a reader sees (a
"Trojan Source" display). Every place a label is shown (HTML, figure labels, heat-map axes, file
names, terminal tables) passes it through :func:`visible` or :func:`file_label`.
"""

from __future__ import annotations

import re
from typing import Any

_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000d\u000e-\u001f\u007f-\u009f\u00ad\u061c\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)


def visible(text: Any) -> str:
    """Text with every invisible or direction-changing character written as ⟨U+XXXX⟩."""
    text = "" if text is None else str(text)
    text = text.replace("\r\n", "\n")
    return _INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)


def file_label(text: Any) -> str:
    """A label as part of a file name: visible, no path separators, never starting with '-' or '.'."""
    name = re.sub(r"[^\w.+-]+", "_", visible(text)).strip("_") or "label"
    return "_" + name if name[0] in "-." else name
