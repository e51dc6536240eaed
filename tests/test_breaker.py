"""The circuit breaker's rules, on a clock the test moves: no network, no sleeping."""

from __future__ import annotations

import pytest

from pynamo_sessions.store.breaker import CLOSED, HALF_OPEN, OPEN, Breaker, BreakerOpen


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def breaker(clock: Clock, threshold: int = 3) -> Breaker:
    return Breaker(threshold=threshold, window=10, cooldown=5, clock=clock)


def test_opens_after_the_threshold_of_failures_in_the_window(clock: Clock) -> None:
    subject = breaker(clock)
    assert subject.record(failed=True) is None
    assert subject.record(failed=True) is None
    transition = subject.record(failed=True)
    assert transition is not None and transition.state == OPEN
    assert (transition.failures, transition.calls, transition.retry_after) == (3, 3, 5)
    assert subject.state == OPEN


def test_failures_outside_the_window_are_forgotten(clock: Clock) -> None:
    subject = breaker(clock)
    subject.record(failed=True)
    subject.record(failed=True)
    subject.record(failed=False)
    clock.now += 11
    subject.record(failed=True)
    assert subject.record(failed=True) is None
    assert subject.state == CLOSED


def test_a_few_failures_among_many_successes_do_not_open_it(clock: Clock) -> None:
    subject = breaker(clock)
    for _ in range(10):
        subject.record(failed=False)
    for _ in range(5):
        assert subject.record(failed=True) is None  # 5 of 25 calls, between successes: blips
        subject.record(failed=False)
        subject.record(failed=False)
    assert subject.state == CLOSED


def test_a_run_of_failures_opens_it_though_the_window_is_full_of_successes(clock: Clock) -> None:
    subject = breaker(clock)
    for _ in range(100):
        subject.record(failed=False)  # before DynamoDB began to hang
    subject.record(failed=True)
    subject.record(failed=True)
    transition = subject.record(failed=True)
    assert transition is not None and transition.state == OPEN


def test_half_the_calls_failing_in_the_window_opens_it_without_a_run(clock: Clock) -> None:
    subject = breaker(clock)
    outcomes = [True, False] * 3
    transitions = [subject.record(failed=failed) for failed in outcomes[:-1]]
    assert transitions[-1] is not None and transitions[-1].state == OPEN


def test_open_fails_fast_until_the_cooldown_then_lets_one_trial_through(clock: Clock) -> None:
    subject = breaker(clock, threshold=1)
    subject.record(failed=True)
    clock.now += 2
    with pytest.raises(BreakerOpen) as info:
        subject.before_call()
    assert info.value.retry_after == pytest.approx(3)
    assert subject.retry_after() == 3
    clock.now += 3
    transition = subject.before_call()
    assert transition is not None and transition.state == HALF_OPEN
    with pytest.raises(BreakerOpen):
        subject.before_call()  # only one trial at a time


def test_a_successful_trial_closes_it(clock: Clock) -> None:
    subject = breaker(clock, threshold=1)
    subject.record(failed=True)
    clock.now += 5
    subject.before_call()
    transition = subject.record(failed=False)
    assert transition is not None and transition.state == CLOSED
    assert subject.before_call() is None
    assert subject.retry_after() == 1


def test_a_failed_trial_opens_it_for_another_cooldown(clock: Clock) -> None:
    subject = breaker(clock, threshold=1)
    subject.record(failed=True)
    clock.now += 5
    subject.before_call()
    transition = subject.record(failed=True)
    assert transition is not None and transition.state == OPEN
    clock.now += 4
    with pytest.raises(BreakerOpen):
        subject.before_call()


def test_a_trial_that_never_reports_is_replaced_after_a_cooldown(clock: Clock) -> None:
    subject = breaker(clock, threshold=1)
    subject.record(failed=True)
    clock.now += 5
    subject.before_call()  # this trial's thread dies without reporting
    clock.now += 5
    assert subject.before_call() is not None


def test_a_slow_call_that_fails_after_it_opened_changes_nothing(clock: Clock) -> None:
    subject = breaker(clock, threshold=1)
    subject.record(failed=True)
    assert subject.record(failed=True) is None
    assert subject.record(failed=False) is None
    assert subject.state == OPEN


def test_threshold_zero_switches_it_off(clock: Clock) -> None:
    subject = breaker(clock, threshold=0)
    for _ in range(100):
        assert subject.record(failed=True) is None
    assert subject.before_call() is None
