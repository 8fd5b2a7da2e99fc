from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from medservice.core.numbering import number_next


@pytest.mark.django_db
def test_numbers_run_per_kind_and_year():
    assert [number_next(prefix="TS", year=2026) for _ in range(2)] == [
        "TS-2026-000001",
        "TS-2026-000002",
    ]
    assert number_next(prefix="WO", year=2026) == "WO-2026-000001"
    assert number_next(prefix="TS", year=2027) == "TS-2027-000001"


@pytest.mark.django_db
def test_a_rolled_back_number_leaves_a_gap_not_a_duplicate():
    number_next(prefix="TS", year=2026)
    with pytest.raises(RuntimeError), transaction.atomic():
        number_next(prefix="TS", year=2026)
        raise RuntimeError
    assert number_next(prefix="TS", year=2026) in {"TS-2026-000002", "TS-2026-000003"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_get_the_same_number():
    numbers: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def take() -> None:
        try:
            barrier.wait()
            for _ in range(10):
                numbers.append(number_next(prefix="TS", year=2026))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == [f"TS-2026-{n:06d}" for n in range(1, 41)]
