from conftest import Colony


def test_submit_assign_close_round_trip(colony: Colony) -> None:
    submitted = colony.submit()
    assigned = colony.assign(timeout=1)
    assert assigned["processid"] == submitted["processid"]
    colony.close(assigned["processid"], ["done"])
    process = colony.get(assigned["processid"])
    assert process["state"] == 2
    assert process["out"] == ["done"]
