"""The emulated projector's behaviour, with a hand-driven clock (no sockets, no sleeping)."""

from __future__ import annotations

from drivers.pjlink.projector import ProjectorModel


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _model(**kw: object) -> tuple[ProjectorModel, Clock]:
    clock = Clock()
    return ProjectorModel(clock=clock, warmup_s=30.0, cooldown_s=60.0, **kw), clock  # type: ignore[arg-type]


def test_power_on_warms_up_then_is_on() -> None:
    model, clock = _model()
    assert model.answer(1, "POWR", "1") == "OK"
    assert model.answer(1, "POWR", "?") == "3"
    clock.t += 31
    assert model.answer(1, "POWR", "?") == "1"


def test_commands_during_warm_up_answer_err3() -> None:
    model, _ = _model()
    model.answer(1, "POWR", "1")
    assert model.answer(1, "POWR", "0") == "ERR3"
    assert model.answer(1, "INPT", "?") == "ERR3"


def test_power_off_cools_down_before_standby() -> None:
    model, clock = _model(power="on")
    assert model.answer(1, "POWR", "0") == "OK"
    assert model.answer(1, "POWR", "?") == "2"
    clock.t += 61
    assert model.answer(1, "POWR", "?") == "0"


def test_lamp_failure_refuses_power_on_with_err4() -> None:
    model, _ = _model()
    model.set_errors(lamp="error")
    assert model.answer(1, "POWR", "1") == "ERR4"


def test_unknown_input_is_out_of_parameter() -> None:
    model, _ = _model(power="on")
    assert model.answer(1, "INPT", "59") == "ERR2"


def test_class2_commands_are_undefined_on_a_class1_projector() -> None:
    model, _ = _model(pjclass=1)
    assert model.answer(2, "SNUM", "?") == "ERR1"
    assert model.answer(1, "CLSS", "?") == "1"


def test_class2_command_sent_as_class1_is_undefined() -> None:
    model, _ = _model()
    assert model.answer(1, "FREZ", "?") == "ERR1"


def test_projector_without_lamp_answers_err1_to_lamp() -> None:
    model, _ = _model(lamps=[])
    assert model.answer(1, "LAMP", "?") == "ERR1"


def test_changes_are_reported_for_notifications() -> None:
    seen: list[tuple[str, str]] = []
    model, _ = _model(power="on")
    model.on_change = lambda cmd, param: seen.append((cmd, param))
    model.answer(1, "INPT", "32")
    model.set_errors(fan="warning")
    assert seen == [("INPT", "32"), ("ERST", "100000")]


def test_volume_step_past_the_end_still_answers_ok() -> None:
    model, _ = _model(speaker_volume=20)
    assert model.answer(2, "SVOL", "1") == "OK"
    assert model.speaker_volume == 20
