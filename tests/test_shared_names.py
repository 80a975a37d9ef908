"""Names and rules the page applies come from the server, so the page and the server cannot disagree.

The front end keeps no copy of the file-name rules, flash-state sentences or revision kinds: the page config carries
them. Its unit tests read the same rules from a fixture, which must equal what the server sends.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ROOT
from webide.editor.views import shared_rules

FRONTEND_SOURCES = sorted((ROOT / "frontend" / "src").rglob("*.js"))


def test_the_front_end_test_fixture_is_what_the_server_sends():
    fixture = json.loads((ROOT / "frontend" / "test" / "shared-rules.json").read_text())
    assert fixture == json.loads(json.dumps(shared_rules()))


@pytest.mark.parametrize(
    "literal",
    [
        *shared_rules()["forbiddenNames"],
        *(re.sub(r"[:{].*", "", sentence).strip() for sentence in shared_rules()["flashStates"].values()),
        *(f"{kind}: '{label}'" for kind, label in shared_rules()["revisionKinds"].items()),  # a label table
    ],
)
def test_no_front_end_source_keeps_its_own_copy(literal):
    holders = [path.name for path in FRONTEND_SOURCES if literal in path.read_text()]
    assert not holders, f"{literal!r} is written out in {holders}; take it from the page config's rules instead"


def test_the_editor_page_carries_the_rules(bot_session):
    page = bot_session.get("/").get_data(as_text=True)
    assert '"fileNamePattern"' in page and '"flashStates"' in page and '"revisionKinds"' in page
