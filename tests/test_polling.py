"""The workers' loop (portal/polling.py): a pass after a pass while there is work, a pause when
idle, a database error logged and tried again, and a prompt stop."""
import time

from sqlalchemy.exc import OperationalError

from portal import polling


def test_a_database_error_is_logged_then_waits_and_work_found_runs_the_next_pass_at_once(app, caplog,
                                                                                         monkeypatch):
    outcomes = [OperationalError("SELECT 1", {}, Exception("server closed the connection")), True, False]
    events = []
    monkeypatch.setattr(polling, "wait", lambda stop, seconds: events.append(("wait", seconds)))

    def one_pass():
        outcome = outcomes[sum(1 for kind, _ in events if kind == "pass")]
        events.append(("pass", None))
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    polling.run_until_stopped("test worker", one_pass, lambda: len(events) >= 5, poll_seconds=7)
    assert events == [("pass", None), ("wait", 7), ("pass", None), ("pass", None), ("wait", 7)]
    assert "test worker: database error, retrying" in caplog.text


def test_wait_returns_as_soon_as_it_is_told_to_stop():
    checks = []
    polling.wait(lambda: checks.append(1) or len(checks) > 2, 3600)
    assert len(checks) == 3  # it looked three times and returned, not after the hour
