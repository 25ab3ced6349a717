"""`make soak` still measures what it says: real workers, idle and after
refreshes through HTTP and rows as refreshes leave them (small numbers)."""

import re

import pytest

from bench import refresh_soak
from tests.conftest import needs_postgres


@needs_postgres
@pytest.mark.live
@pytest.mark.slow
def test_the_soak_serves_refreshes_and_compares_fresh_workers(monkeypatch, capsys):
    monkeypatch.setattr(refresh_soak, "REFRESHES", 500)
    monkeypatch.setattr(refresh_soak, "LIVE", 50)
    monkeypatch.setattr(refresh_soak, "STARTS", 1)
    monkeypatch.setattr(refresh_soak, "WARM_REQUESTS", 20)
    monkeypatch.setattr(refresh_soak, "SETTLE_SECONDS", 0.5)
    refresh_soak.main()  # its verdict on memory is the soak's, at full size
    report = capsys.readouterr().out
    assert "500 revocations in the table after 500 refreshes (50 through HTTP)" in report
    header = re.search(r"^ +(start s.*)$", report, re.MULTILINE)[1]
    columns = re.split(r" {2,}", header.strip())
    rows = {line.split()[0]: dict(zip(columns, line.split()[1:], strict=True))
            for line in report.splitlines() if re.match(r"(idle|soaked) +[0-9]", line)}
    assert rows["idle"]["view rows"] == rows["soaked"]["view rows"] == "0"
